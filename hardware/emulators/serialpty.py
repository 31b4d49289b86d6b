"""A pseudo-terminal that plays a serial device: the driver opens :attr:`PtyPort.path` with
pyserial, exactly as it would open ``/dev/ttyUSB0``, and the emulator owns the other end.

The emulator keeps its own handle on the slave side open, so that the driver closing and
reopening the port does not hang the pair up. :meth:`unplug` closes both ends, which the
driver sees as a device that vanished mid-job (EIO), like a pulled USB cable; the emulator's
own ``on_data`` may unplug it too (a scripted hang-up). Given a ``link``, the port keeps a
stable symlink to its ``/dev/pts/N`` (as udev's ``/dev/serial/by-id`` links do), so that a new
port on the same link after an unplug is the same address for the driver.

Every emulator on a pty (printer, pole, LED sign, scanner, hand button) uses this one class.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import tty
from collections.abc import Callable
from pathlib import Path

from hardware import limits

log = logging.getLogger(__name__)

_READ_CHUNK = 4096


class PtyPort:
    """One pty pair and a named reader thread handing every byte received to ``on_data``."""

    def __init__(
        self, name: str, on_data: Callable[[bytes], None], *, link: Path | str | None = None
    ) -> None:
        self.name = name
        self._on_data = on_data
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes pass as they are
        self.path = os.ttyname(self._slave)
        if link is not None:
            _point(Path(link), self.path)
        self._wake_r, self._wake_w = os.pipe()
        self._reading = threading.Event()
        self._reading.set()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"bilik-emu-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            watched = [self._wake_r] if not self._reading.is_set() else [self._master, self._wake_r]
            try:  # frozen: only the wake pipe, leaving the bytes in the pty so the writer stalls
                ready, _, _ = select.select(watched, [], [])
            except (OSError, ValueError):  # closed under us while on_data was still running
                return
            if self._wake_r in ready:
                os.read(self._wake_r, 64)
                if self._closed:
                    return
                continue
            try:
                data = os.read(self._master, _READ_CHUNK)
            except OSError:
                return
            if data:
                try:
                    self._on_data(data)
                except Exception:  # an emulator bug must not kill the port silently
                    log.exception("emulator %s failed to handle %d bytes", self.name, len(data))
                if self._closed:  # on_data unplugged the port
                    return

    def write(self, data: bytes) -> None:
        """Send bytes towards the driver (a scanner's codes)."""
        with self._lock:
            if self._closed:
                raise OSError(f"emulator {self.name} is unplugged")
            view = memoryview(data)
            while view:
                n = os.write(self._master, view)
                view = view[n:]

    def freeze(self) -> None:
        """Stop taking bytes: the device "never answers" and the driver's writes stall."""
        self._reading.clear()
        os.write(self._wake_w, b"f")

    def thaw(self) -> None:
        self._reading.set()
        os.write(self._wake_w, b"t")

    def unplug(self) -> None:
        """Close both ends, as a pulled cable does; the driver's next read or write fails."""
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        os.write(self._wake_w, b"x")
        if threading.current_thread() is not self._thread:  # else on_data is hanging up
            self._thread.join(limits.EMULATOR_SHUTDOWN_S)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def closed(self) -> bool:
        return self._closed


def _point(link: Path, target: str) -> None:
    """Make ``link`` point at ``target``, replacing what it pointed at in one step."""
    tmp = link.with_name(link.name + ".new")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)
