"""Emulator of the booth's hand button (hardware/button.py's protocol) on a pty.

:meth:`ButtonEmulator.press` / :meth:`release` / :meth:`click` send what the button sends;
"?" is answered with the ident (or nothing, ``silent=True``: a port that is no button);
"L1"/"L0" set :attr:`light`, which a test reads (``wait_light``).
"""

from __future__ import annotations

import threading

from hardware.emulators.serialpty import PtyPort

IDENT = "BILIK-HAND-BUTTON emulator 1.0"


class ButtonEmulator:
    def __init__(self, *, silent: bool = False, fault: str = "") -> None:
        self.silent = silent
        self.fault = fault  # answer "?" with "E <fault>" (a stuck switch...)
        self.light = False
        self.received = bytearray()
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self.port = PtyPort("hand-button", self._receive)
        self.path = self.port.path

    def _receive(self, data: bytes) -> None:
        with self._cond:
            self.received += data
            self._buffer += data
            while b"\n" in self._buffer:
                line, _, rest = bytes(self._buffer).partition(b"\n")
                self._buffer = bytearray(rest)
                self._command(line.strip().decode("ascii", "replace"))
            self._cond.notify_all()

    def _command(self, line: str) -> None:
        if line == "?" and not self.silent:
            self.port.write(f"E {self.fault}\r\n".encode() if self.fault
                            else f"OK {IDENT}\r\n".encode())
        elif line in ("L1", "L0"):
            self.light = line == "L1"

    def press(self) -> None:
        self.port.write(b"P\r\n")

    def release(self) -> None:
        self.port.write(b"R\r\n")

    def click(self) -> None:
        self.press()
        self.release()

    def inject_raw(self, data: bytes) -> None:
        self.port.write(data)

    def wait_light(self, on: bool, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.light is on, timeout)

    def unplug(self) -> None:
        self.port.unplug()

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> ButtonEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
