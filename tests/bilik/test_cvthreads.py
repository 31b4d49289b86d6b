"""OpenCV stays on the calling thread in the real-time roles (bilik/cvthreads.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bilik import cvthreads

PROBE = """
import os, sys
from hardware.testpattern import TestPattern
if sys.argv[1] == "single":
    from bilik import cvthreads
    cvthreads.single_threaded()
before = len(os.listdir("/proc/self/task"))
pattern = TestPattern()
for i in range(30):
    pattern.render_bgr(i / 15)  # cv2.cvtColor on a 640x480 picture
print(len(os.listdir("/proc/self/task")) - before)
"""


def threads_started(mode: str) -> int:
    # OpenCV's defaults: without the variable a role (or a test that ran one) may have set.
    env = {k: v for k, v in os.environ.items() if k != cvthreads.THREADS_VARIABLE}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=60, env=env).stdout
    return int(out)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenCV starts no pool anyway")
def test_no_opencv_worker_threads_once_single_threaded() -> None:
    assert threads_started("default") >= 1  # what the setting is for: a spinning pool
    assert threads_started("single") == 0
