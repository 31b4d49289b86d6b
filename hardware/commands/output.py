"""What every ``bilik hw`` command shares: its exit codes, where it writes, how it fails,
and how it stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from bilik.devicehealth import DeviceHealth
from hardware.errors import (
    DeviceAbsent,
    DeviceBusy,
    DevicePermissionDenied,
    DeviceUnavailable,
    HardwareError,
)

EXIT_OK = 0
EXIT_ERROR = 1  # anything else: bad configuration, an unexpected failure
EXIT_USAGE = 2  # wrong arguments
EXIT_ABSENT = 3  # the device is not there
EXIT_BUSY = 4  # another program holds it
EXIT_PERMISSION = 5  # this user may not open it (dialout group / udev rule)
EXIT_FAULT = 6  # it is there but misbehaves: garbage, no answer, unplugged mid-test
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit codes: 0 ok, 1 error, 2 usage, 3 device absent, 4 device busy, "
    "5 permission denied, 6 device fault (garbage, no answer, unplugged), 130 interrupted"
)

HEALTH_EXIT = {
    DeviceHealth.OK: EXIT_OK,
    DeviceHealth.ABSENT: EXIT_ABSENT,
    DeviceHealth.BUSY: EXIT_BUSY,
    DeviceHealth.PERMISSION_DENIED: EXIT_PERMISSION,
    DeviceHealth.ERROR: EXIT_FAULT,
    DeviceHealth.REOPENING: EXIT_FAULT,
}


def exit_code_of(exc: BaseException) -> int:
    if isinstance(exc, DevicePermissionDenied):
        return EXIT_PERMISSION
    if isinstance(exc, DeviceBusy):
        return EXIT_BUSY
    if isinstance(exc, DeviceAbsent):
        return EXIT_ABSENT
    if isinstance(exc, DeviceUnavailable):
        return EXIT_ERROR
    if isinstance(exc, HardwareError):
        return EXIT_FAULT
    if isinstance(exc, ValueError):  # bad arguments that reached a parser
        return EXIT_USAGE
    return EXIT_FAULT


def worst(codes: list[int]) -> int:
    # Faults and permission problems outrank a merely absent device.
    order = [EXIT_OK, EXIT_ABSENT, EXIT_BUSY, EXIT_PERMISSION, EXIT_FAULT, EXIT_ERROR]
    return max(codes, key=order.index, default=EXIT_OK)


class Out:
    """Where a command writes: text for people, or JSON."""

    def __init__(self, as_json: bool, stream: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stream = stream or sys.stdout

    def doc(self, data: Any) -> None:
        self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.stream.flush()

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def progress(self, step: int, total: int, message: str) -> None:
        sys.stderr.write(f"[{step}/{total}] {message}\n")
        sys.stderr.flush()


def error_doc(exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "error": type(exc).__name__,
        "message": str(exc),
        "hint": getattr(exc, "hint", ""),
        "exit": exit_code_of(exc),
    }


def fail(out: Out, exc: BaseException, what: str) -> int:
    if out.as_json:
        out.doc(error_doc(exc) | {"what": what})
    else:
        sys.stderr.write(f"bilik hw {what}: {exc}\n")
    return exit_code_of(exc)



@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, and either ends the command cleanly."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
