"""Emulator of the 2x20 pole display: a pure parser keeping the character buffer, on a pty.

:class:`PoleScreen` understands the CD5220 or the Epson DM-D command set (bytes in, screen
state out) and reports every byte it cannot make sense of as a
:class:`~hardware.errors.DisplayFrameError`, leaving the screen as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from hardware import limits
from hardware.displays.pole import EPSON_CODE_TABLES, PoleCommandSet
from hardware.emulators.serialpty import PtyPort
from hardware.errors import DisplayFrameError

ESC, US, FF, CR, LF, BS, HT, VT, CAN = 0x1B, 0x1F, 0x0C, 0x0D, 0x0A, 0x08, 0x09, 0x0B, 0x18
_TABLE_CODEPAGES = {n: cp for cp, n in EPSON_CODE_TABLES.items()}


class _Incomplete(Exception):
    """The buffer ends inside a command; wait for more bytes."""


class PoleScreen:
    """Character buffer of a pole display fed with raw bytes."""

    def __init__(
        self,
        command_set: PoleCommandSet,
        *,
        codepage: str = "cp437",
        columns: int = limits.POLE_COLUMNS,
        rows: int = limits.POLE_ROWS,
    ) -> None:
        self.command_set = command_set
        self.codepage = codepage
        self.columns = columns
        self.rows = rows
        self.cells = [[" "] * columns for _ in range(rows)]
        self.cursor = (0, 0)  # (column, row), 0-based
        self.marquee: str | None = None
        self.brightness = 4
        self.errors: list[DisplayFrameError] = []
        self.commands = 0
        self._pending = bytearray()
        self._offset = 0  # bytes consumed since the start, for error messages
        self._new_errors: list[DisplayFrameError] = []

    # --- state ---------------------------------------------------------------------------
    def lines(self) -> list[str]:
        return ["".join(row) for row in self.cells]

    def _clear(self) -> None:
        self.cells = [[" "] * self.columns for _ in range(self.rows)]
        self.cursor = (0, 0)
        self.marquee = None

    def _put(self, byte: int) -> None:
        x, y = self.cursor
        self.cells[y][x] = bytes([byte]).decode(self.codepage, errors="replace")
        x += 1
        if x >= self.columns:  # overwrite mode: wrap to the next row, bottom wraps to top
            x, y = 0, (y + 1) % self.rows
        self.cursor = (x, y)

    def _set_row(self, row: int, text: bytes) -> None:
        decoded = text[: self.columns].decode(self.codepage, errors="replace")
        self.cells[row] = list(decoded.ljust(self.columns))

    def _error(self, at: int, problem: str) -> None:
        err = DisplayFrameError(f"pole display byte {self._offset + at}: {problem}")
        self.errors.append(err)
        self._new_errors.append(err)

    # --- parsing ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> list[DisplayFrameError]:
        """Apply ``data``; returns the errors it contained (also kept in :attr:`errors`)."""
        self._new_errors = []
        self._pending += data
        buf = bytes(self._pending)
        i = 0
        while i < len(buf):
            try:
                used = self._command(buf, i)
            except _Incomplete:
                if len(buf) - i > limits.EMULATOR_MAX_GARBAGE_BYTES:
                    self._error(i, "command never completed; dropped the buffer")
                    i = len(buf)
                break
            i += used
        self._offset += i
        del self._pending[:i]
        return self._new_errors

    def _need(self, buf: bytes, i: int, n: int) -> None:
        if len(buf) - i < n:
            raise _Incomplete

    def _command(self, buf: bytes, i: int) -> int:
        b = buf[i]
        if b >= 0x20 and b != 0x7F:
            self._put(b)
            return 1
        self.commands += 1
        if b == FF:
            self._clear()
            return 1
        if b == VT:
            self.cursor = (0, 0)
            return 1
        if b == CR:
            self.cursor = (0, self.cursor[1])
            return 1
        if b == LF:
            self.cursor = (self.cursor[0], min(self.cursor[1] + 1, self.rows - 1))
            return 1
        if b == BS:
            self.cursor = (max(self.cursor[0] - 1, 0), self.cursor[1])
            return 1
        if b == HT:
            self.cursor = (min(self.cursor[0] + 1, self.columns - 1), self.cursor[1])
            return 1
        if b == ESC:
            self._need(buf, i, 2)
            if buf[i + 1] == 0x40:
                self._clear()
                return 2
            if self.command_set is PoleCommandSet.CD5220:
                return self._cd5220_esc(buf, i)
            return self._epson_esc(buf, i)
        if b == US and self.command_set is PoleCommandSet.EPSON:
            return self._epson_us(buf, i)
        if b == CAN and self.command_set is PoleCommandSet.EPSON:
            self.cells[self.cursor[1]] = [" "] * self.columns
            return 1
        self._error(i, f"unexpected control byte 0x{b:02x}")
        return 1

    def _cd5220_esc(self, buf: bytes, i: int) -> int:
        op = buf[i + 1]
        if op == 0x51:  # ESC Q A|B|D text CR
            self._need(buf, i, 3)
            which = buf[i + 2]
            if which not in (0x41, 0x42, 0x44):
                self._error(i, f"unknown line selector ESC Q 0x{which:02x}")
                return 3
            end = buf.find(bytes([CR]), i + 3)
            if end < 0:
                if len(buf) - (i + 3) > 2 * self.columns + 40:  # marquee text may be longer
                    self._error(i, "ESC Q line text has no CR terminator")
                    return 3
                raise _Incomplete
            text = buf[i + 3 : end]
            if any(c < 0x20 or c == 0x7F for c in text):
                self._error(i, "control byte inside ESC Q line text")
                return end + 1 - i
            if which == 0x44:
                self.marquee = text.decode(self.codepage, errors="replace")
                self._set_row(0, text)
            else:
                if len(text) > self.columns:
                    self._error(
                        i, f"line text is {len(text)} cells, the display has {self.columns}"
                    )
                self._set_row(0 if which == 0x41 else 1, text)
            return end + 1 - i
        if op == 0x6C:  # ESC l x y
            self._need(buf, i, 4)
            return self._move(i, buf[i + 2], buf[i + 3], "ESC l") + 4
        if op in (0x5F, 0x2A):  # cursor on/off, brightness
            self._need(buf, i, 3)
            if op == 0x2A:
                self.brightness = buf[i + 2]
            return 3
        if op in (0x11, 0x12, 0x13):  # overwrite / vertical / horizontal scroll mode
            return 2
        self._error(i, f"unknown command ESC 0x{op:02x}")
        return 2

    def _epson_esc(self, buf: bytes, i: int) -> int:
        op = buf[i + 1]
        if op in (0x74, 0x52, 0x3D):  # ESC t n, ESC R n, ESC = n
            self._need(buf, i, 3)
            if op == 0x74:
                table = buf[i + 2]
                if table not in _TABLE_CODEPAGES:
                    self._error(i, f"ESC t {table}: character table not emulated")
                else:
                    self.codepage = _TABLE_CODEPAGES[table]
            return 3
        self._error(i, f"unknown command ESC 0x{op:02x}")
        return 2

    def _epson_us(self, buf: bytes, i: int) -> int:
        self._need(buf, i, 2)
        op = buf[i + 1]
        if op in (0x01, 0x02, 0x03):  # MD1/MD2/MD3 display modes
            return 2
        if op == 0x24:  # US $ x y
            self._need(buf, i, 4)
            return self._move(i, buf[i + 2], buf[i + 3], "US $") + 4
        if op in (0x43, 0x45, 0x58):  # cursor, blink, brightness
            self._need(buf, i, 3)
            if op == 0x58:
                self.brightness = buf[i + 2]
            return 3
        self._error(i, f"unknown command US 0x{op:02x}")
        return 2

    def _move(self, i: int, x: int, y: int, name: str) -> int:
        if not (1 <= x <= self.columns and 1 <= y <= self.rows):
            self._error(i, f"{name} {x} {y}: position outside {self.columns}x{self.rows}")
        else:
            self.cursor = (x - 1, y - 1)
        return 0


class PoleEmulator:
    """A :class:`PoleScreen` behind a pty; open :attr:`path` with pyserial to drive it."""

    def __init__(
        self,
        command_set: PoleCommandSet = PoleCommandSet.CD5220,
        *,
        codepage: str = "cp437",
        on_change: Callable[[list[str]], None] | None = None,
        link: Path | None = None,
    ) -> None:
        self.screen = PoleScreen(command_set, codepage=codepage)
        self._changed = threading.Condition()
        self._on_change = on_change
        # With ``link``, a symlink there points at the pty (as udev's by-id links do), so
        # that a new emulator on the same link is the same pole plugged back in.
        self.port = PtyPort(f"pole-{command_set.value}", self._receive, link=link)
        self.path = str(link) if link is not None else self.port.path

    def _receive(self, data: bytes) -> None:
        with self._changed:
            before = self.screen.lines()
            self.screen.feed(data)
            after = self.screen.lines()
            self._changed.notify_all()
        if self._on_change is not None and after != before:
            self._on_change(after)

    def lines(self) -> list[str]:
        with self._changed:
            return self.screen.lines()

    def wait_for(self, predicate: Callable[[PoleScreen], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.screen), timeout)

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> PoleEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
