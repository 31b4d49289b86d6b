"""Real-time printer status: the four DLE EOT replies of ESC/POS, decoded.

``DLE EOT n`` (0x10 0x04 n) is answered at once, even while the printer is busy, with
one byte. Per the Epson ESC/POS reference every reply byte has bit 0 = 0, bit 1 = 1,
bit 4 = 1 and bit 7 = 0; a byte that breaks this is not a status reply (line noise,
another device on the port) and is rejected as garbled.

- n=1 printer status: bit 3 = offline.
- n=2 offline cause: bit 2 = cover open, bit 3 = paper fed by the button,
  bit 5 = printing stopped at paper end, bit 6 = an error occurred.
- n=3 error cause: bit 3 = auto-cutter error, bit 5 = unrecoverable error,
  bit 6 = automatically recoverable error (e.g. head too hot).
- n=4 roll paper sensor: bits 2-3 = paper near end, bits 5-6 = paper end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hardware.errors import PrinterGarbled

DLE_EOT = b"\x10\x04"
QUERIES = (1, 2, 3, 4)
_FIXED_MASK = 0b1001_0011
_FIXED_VALUE = 0b0001_0010


class StatusFlag(enum.Flag):
    NONE = 0
    OFFLINE = enum.auto()
    COVER_OPEN = enum.auto()
    PAPER_NEAR_END = enum.auto()
    PAPER_OUT = enum.auto()
    ERROR = enum.auto()
    CUTTER_ERROR = enum.auto()  # detail of ERROR
    UNRECOVERABLE_ERROR = enum.auto()  # detail of ERROR
    RECOVERABLE_ERROR = enum.auto()  # detail of ERROR (head temperature, voltage)


BLOCKING = StatusFlag.OFFLINE | StatusFlag.COVER_OPEN | StatusFlag.PAPER_OUT | StatusFlag.ERROR
"""Any of these stops printing; PAPER_NEAR_END only warns."""

_DESCRIPTIONS = {
    StatusFlag.OFFLINE: "offline",
    StatusFlag.COVER_OPEN: "cover open",
    StatusFlag.PAPER_NEAR_END: "paper near end",
    StatusFlag.PAPER_OUT: "paper out",
    StatusFlag.ERROR: "error",
    StatusFlag.CUTTER_ERROR: "auto-cutter error",
    StatusFlag.UNRECOVERABLE_ERROR: "unrecoverable error",
    StatusFlag.RECOVERABLE_ERROR: "recoverable error",
}


@dataclass(frozen=True)
class PrinterStatus:
    flags: StatusFlag
    raw: bytes = b""  # the four reply bytes, n=1..4, for logs and diagnostics

    @property
    def ok(self) -> bool:
        """True when the printer can print now (paper near end is only a warning)."""
        return not (self.flags & BLOCKING)

    def __contains__(self, flag: StatusFlag) -> bool:
        return bool(self.flags & flag)

    def describe(self) -> str:
        """``"ready"`` or the conditions, e.g. ``"offline, cover open"``."""
        parts = [text for flag, text in _DESCRIPTIONS.items() if flag in self.flags]
        return ", ".join(parts) if parts else "ready"


def query(n: int) -> bytes:
    """The bytes that ask for status ``n`` (1-4)."""
    if n not in QUERIES:
        raise ValueError(f"DLE EOT status number must be 1-4, not {n}")
    return DLE_EOT + bytes([n])


def check_reply(n: int, reply: bytes) -> int:
    """Return the reply byte to ``DLE EOT n``; raise :class:`PrinterGarbled` if it is not one."""
    if len(reply) != 1:
        raise PrinterGarbled(f"status {n}: expected 1 reply byte, got {reply.hex(' ') or 'none'}")
    value = reply[0]
    if value & _FIXED_MASK != _FIXED_VALUE:
        raise PrinterGarbled(
            f"status {n}: reply byte 0x{value:02x} is not a DLE EOT reply (fixed bits 0,1,4,7 "
            f"must read 0,1,1,0)"
        )
    return value


def decode(replies: bytes) -> PrinterStatus:
    """Decode the four reply bytes to DLE EOT 1, 2, 3 and 4 into a :class:`PrinterStatus`."""
    if len(replies) != len(QUERIES):
        raise PrinterGarbled(f"expected 4 status bytes, got {len(replies)}")
    printer, offline, error, paper = (
        check_reply(n, replies[i : i + 1]) for i, n in enumerate(QUERIES)
    )
    flags = StatusFlag.NONE
    if printer & 0x08:
        flags |= StatusFlag.OFFLINE
    if offline & 0x04:
        flags |= StatusFlag.COVER_OPEN
    if offline & 0x20:
        flags |= StatusFlag.PAPER_OUT
    if offline & 0x40:
        flags |= StatusFlag.ERROR
    for bit, detail in ((0x08, StatusFlag.CUTTER_ERROR), (0x20, StatusFlag.UNRECOVERABLE_ERROR),
                        (0x40, StatusFlag.RECOVERABLE_ERROR)):
        if error & bit:
            flags |= StatusFlag.ERROR | detail
    if paper & 0x0C:
        flags |= StatusFlag.PAPER_NEAR_END
    if paper & 0x60:
        flags |= StatusFlag.PAPER_OUT
    return PrinterStatus(flags, bytes(replies))
