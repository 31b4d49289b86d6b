"""The garbage-collector settings of long-running roles."""

from __future__ import annotations

import json
import subprocess
import sys


def test_settle_freezes_start_up_objects_and_raises_the_thresholds() -> None:
    # In a child process: the test runner's own collector must not be changed.
    probe = (
        "import gc, json; from bilik import gcpause; before = gc.get_freeze_count(); "
        "gcpause.settle(); print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    before, after, thresholds = json.loads(out)
    assert before == 0 and after > 1000  # the imported modules are no longer walked
    assert thresholds[0] > 700  # young collections rarer than CPython's default
