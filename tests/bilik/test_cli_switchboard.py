"""The `bilik` switchboard: every role listed, only the chosen one loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bilik.cli import ROLE_MODULES, main


def test_help_lists_every_role_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name, _module, summary in ROLE_MODULES:
        assert name in out and summary in out


def test_the_server_does_not_load_the_media_stack() -> None:
    """`bilik server` starts without PyAV, aiortc or OpenCV (and their start-up cost)."""
    probe = (
        "import sys; from bilik.cli import build_parser; "
        "build_parser(['server', 'token', '--role', 'booth', '--id', 'b1']); "
        "print(sorted(m for m in ('av', 'aiortc', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_a_role_is_registered_in_full_when_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--log-level", "warning", "hub", "--help"])
    assert "--metrics-port" in capsys.readouterr().out  # a flag only officer.cli defines
