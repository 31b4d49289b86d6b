"""The 2x20 customer pole display: CD5220 and Epson DM-D command sets.

:class:`PoleEncoder` turns lines of text into command bytes (pure, golden-tested);
:class:`PoleDisplay` writes them to an open serial port.

CD5220 (and its many clones)::

    ESC @                 initialise
    FF (0x0C)             clear
    ESC Q A <text> CR     replace the upper line
    ESC Q B <text> CR     replace the lower line

Epson DM-D (ESC/POS customer display)::

    ESC @                 initialise
    ESC t n               select character table n (cp437 = 0, cp850 = 2, ...)
    US MD1 (0x1F 0x01)    overwrite mode
    FF (0x0C)             clear
    US $ x y              move the cursor to column x, row y (1-based)

Both get every line padded to 20 cells, so that a shorter text never leaves the
tail of the previous one on screen.
"""

from __future__ import annotations

import enum
import logging

import serial

from hardware import limits
from hardware.displays.calls import Call, call_lines, idle_lines
from hardware.displays.charset import check_codepage, encode, fit
from hardware.serialport import write_all

log = logging.getLogger(__name__)

ESC = 0x1B
US = 0x1F
FF = 0x0C
CR = 0x0D

# Epson ESC t character tables for the code pages we can name.
EPSON_CODE_TABLES = {
    "cp437": 0,
    "cp850": 2,
    "cp860": 3,
    "cp863": 4,
    "cp865": 5,
    "cp1252": 16,
    "cp866": 17,
    "cp852": 18,
    "cp858": 19,
}


class PoleCommandSet(enum.Enum):
    CD5220 = "pole-cd5220"
    EPSON = "pole-epson"


class PoleEncoder:
    """Pure text -> bytes for one command set, code page and geometry."""

    def __init__(
        self,
        command_set: PoleCommandSet,
        *,
        codepage: str = "cp437",
        columns: int = limits.POLE_COLUMNS,
    ) -> None:
        self.command_set = command_set
        self.codepage = check_codepage(codepage)
        self.columns = columns

    def init(self) -> bytes:
        if self.command_set is PoleCommandSet.CD5220:
            return bytes([ESC, 0x40])
        table = EPSON_CODE_TABLES.get(self.codepage)
        select = bytes([ESC, 0x74, table]) if table is not None else b""
        return bytes([ESC, 0x40]) + select + bytes([US, 0x01])

    def clear(self) -> bytes:
        return bytes([FF])

    def line(self, row: int, text: str) -> bytes:
        """Replace row 1 (upper) or 2 (lower) with ``text`` padded to the width."""
        if row not in (1, 2):
            raise ValueError(f"a pole display has rows 1 and 2, not {row}")
        cells = encode(fit(text, self.columns), self.codepage)
        if self.command_set is PoleCommandSet.CD5220:
            return bytes([ESC, 0x51, 0x40 + row]) + cells + bytes([CR])
        return bytes([US, 0x24, 1, row]) + cells

    def lines(self, top: str, bottom: str) -> bytes:
        return self.line(1, top) + self.line(2, bottom)

    def call(self, call: Call) -> bytes:
        """Indonesian on the upper line, English on the lower."""
        return self.lines(*call_lines(call, self.columns))

    def idle(self) -> bytes:
        return self.lines(*idle_lines(self.columns))

    def test_patterns(self) -> list[tuple[str, str]]:
        """Screens a technician checks by eye: every cell lit, then column numbers."""
        full = "\u2588" if self.codepage == "cp437" else "#"
        digits = "".join(str(i % 10) for i in range(1, self.columns + 1))
        return [(full * self.columns, full * self.columns), (digits, digits)]


class PoleDisplay:
    """Driver: writes encoder output to an open port (path/URL named in ``device``)."""

    def __init__(self, port: serial.SerialBase, encoder: PoleEncoder, device: str) -> None:
        self.port = port
        self.encoder = encoder
        self.device = device

    def _send(self, data: bytes) -> None:
        write_all(self.port, data, self.device)

    def reset(self) -> None:
        self._send(self.encoder.init() + self.encoder.clear())

    def show_lines(self, top: str, bottom: str) -> None:
        self._send(self.encoder.lines(top, bottom))

    def show_call(self, call: Call) -> None:
        log.info(
            "pole display call", extra={"fields": {"ticket": call.ticket, "booth": call.booth}}
        )
        self._send(self.encoder.call(call))

    def show_idle(self) -> None:
        self._send(self.encoder.idle())

    def clear(self) -> None:
        self._send(self.encoder.clear())
