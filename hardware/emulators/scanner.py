"""Emulator of a serial barcode/QR scanner: a pty into which codes are injected.

The driver opens :attr:`ScannerEmulator.path` with pyserial; :meth:`ScannerEmulator.scan`
sends a code followed by the suffix, as a scanner does when a code is read.
:meth:`inject_raw` sends arbitrary bytes (garbage, a line without ending).
"""

from __future__ import annotations

import threading
from pathlib import Path

from hardware.emulators.serialpty import PtyPort


class ScannerEmulator:
    def __init__(self, *, suffix: bytes = b"\r\n", link: Path | None = None) -> None:
        self.suffix = suffix
        self.received = bytearray()  # configuration commands a host sent (kept, unused)
        self._lock = threading.Lock()
        # With ``link``, a symlink there points at the pty (as udev's by-id links do), so
        # that a new emulator on the same link is the same scanner plugged back in.
        self.port = PtyPort("scanner", self._receive, link=link)
        self.path = str(link) if link is not None else self.port.path
        self.scanned = 0

    def _receive(self, data: bytes) -> None:
        with self._lock:
            self.received += data

    def scan(self, code: str) -> None:
        self.port.write(code.encode("utf-8") + self.suffix)
        self.scanned += 1

    def inject_raw(self, data: bytes) -> None:
        self.port.write(data)

    def unplug(self) -> None:
        self.port.unplug()

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> ScannerEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
