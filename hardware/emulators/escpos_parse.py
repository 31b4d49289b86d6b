"""A pure ESC/POS stream parser: bytes in, print events out.

It understands what our templates send (python-escpos output) and the common
commands around it: ESC @, ESC !, ESC E, ESC -, ESC a, ESC t, ESC M, ESC d, GS !,
GS V, GS B, GS ( k (QR model, size, error level, store, print), GS v 0 (raster
image), DLE EOT n (real-time status) and a set of well-formed commands it skips
(drawer kick, line spacing, barcodes, other GS ( functions). A byte it cannot make
sense of never raises: it becomes a :class:`ParseError` event carrying the byte
offset in the stream, and parsing resumes at the next byte, the way a real printer
prints rubbish and carries on.

The parser is incremental: :meth:`EscposParser.feed` takes chunks as they arrive and
keeps an incomplete command until the rest comes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, EOT, ENQ = 0x0A, 0x0D, 0x09, 0x04, 0x05

MAX_RASTER_BYTES = 1 << 20
"""Largest raster image (GS v 0) accepted; a bigger header is treated as corrupt."""

CODE_PAGES = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865",
    16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858",
}  # fmt: skip
"""ESC t n numbers (Epson) of the code pages the emulator can show, to Python codecs."""


class Align(enum.Enum):
    LEFT = 0
    CENTER = 1
    RIGHT = 2


@dataclass(frozen=True)
class Style:
    bold: bool = False
    underline: int = 0
    width: int = 1  # character width multiplier, 1-8
    height: int = 1  # character height multiplier, 1-8
    font: int = 0
    invert: bool = False


@dataclass(frozen=True)
class Text:
    text: str
    style: Style
    align: Align


@dataclass(frozen=True)
class Newline:
    align: Align


@dataclass(frozen=True)
class Feed:
    lines: int


@dataclass(frozen=True)
class Cut:
    partial: bool


@dataclass(frozen=True)
class QrCode:
    data: bytes
    module: int  # dots per module
    ec: str  # "L", "M", "Q" or "H"
    align: Align


@dataclass(frozen=True)
class Raster:
    width: int  # pixels
    height: int
    data: bytes  # rows of width/8 bytes, most significant bit first, 1 = black
    align: Align


@dataclass(frozen=True)
class StatusQuery:
    n: int
    offset: int


@dataclass(frozen=True)
class Init:
    pass


@dataclass(frozen=True)
class Skipped:
    command: str
    offset: int


@dataclass(frozen=True)
class ParseError:
    offset: int
    message: str

    def __str__(self) -> str:
        return f"byte {self.offset}: {self.message}"


Event = (
    Text | Newline | Feed | Cut | QrCode | Raster | StatusQuery | Init | Skipped | ParseError
)

_INCOMPLETE = None
_EC_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
# ESC commands that take a fixed number of parameter bytes and change nothing we render.
_ESC_SKIP = {
    0x32: ("ESC 2 line spacing default", 0), 0x33: ("ESC 3 line spacing", 1),
    0x41: ("ESC A line spacing", 1), 0x2B: ("ESC + line spacing", 1),
    0x20: ("ESC SP character spacing", 1), 0x47: ("ESC G double strike", 1),
    0x4A: ("ESC J feed dots", 1), 0x52: ("ESC R character set", 1),
    0x72: ("ESC r colour", 1), 0x7B: ("ESC { upside down", 1), 0x56: ("ESC V rotate", 1),
    0x3D: ("ESC = peripheral", 1), 0x24: ("ESC $ position", 2), 0x5C: ("ESC \\ position", 2),
    0x70: ("ESC p drawer kick", 3), 0x65: ("ESC e reverse feed", 1), 0x63: ("ESC c panel", 2),
    0x42: ("ESC B buzzer", 2), 0x55: ("ESC U unidirectional", 1),
}  # fmt: skip
_GS_SKIP = {
    0x62: ("GS b smoothing", 1), 0x48: ("GS H barcode text position", 1),
    0x66: ("GS f barcode font", 1), 0x68: ("GS h barcode height", 1),
    0x77: ("GS w barcode width", 1), 0x4C: ("GS L left margin", 2),
    0x57: ("GS W print width", 2), 0x50: ("GS P motion units", 2), 0x61: ("GS a status back", 1),
}  # fmt: skip


class EscposParser:
    """Incremental ESC/POS parser; one instance per stream (one printer connection)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0  # stream offset of _buffer[0]
        self._style = Style()
        self._align = Align.LEFT
        self._code_page = 0
        self._qr_data = b""
        self._qr_module = 3
        self._qr_ec = "L"

    @property
    def code_page(self) -> str:
        return CODE_PAGES[self._code_page]

    def feed(self, data: bytes) -> list[Event]:
        """Parse what can be parsed of the stream so far; keep an incomplete tail."""
        self._buffer += data
        events: list[Event] = []
        i = 0
        buf = self._buffer
        while i < len(buf):
            step = self._one(buf, i, events)
            if step is _INCOMPLETE:
                break
            i += step
        self._buffer = buf[i:]
        self._offset += i
        return events

    def finish(self) -> list[Event]:
        """The stream ended: an incomplete command left over becomes a parse error."""
        if not self._buffer:
            return []
        error = ParseError(
            self._offset, f"stream ended inside a command: {self._buffer[:8].hex(' ')}"
        )
        self._offset += len(self._buffer)
        self._buffer = b""
        return [error]

    # -- one command ----------------------------------------------------------------------

    def _one(self, buf: bytes, i: int, events: list[Event]) -> int | None:
        byte = buf[i]
        at = self._offset + i
        if byte == LF:
            events.append(Newline(self._align))
            return 1
        if byte == CR:
            return 1
        if byte == HT:
            events.append(Text(" ", self._style, self._align))
            return 1
        if byte == ESC:
            return self._esc(buf, i, at, events)
        if byte == GS:
            return self._gs(buf, i, at, events)
        if byte == DLE:
            return self._dle(buf, i, at, events)
        if byte == FS:
            return self._fs(buf, i, at, events)
        if byte < 0x20 or byte == 0x7F:
            events.append(ParseError(at, f"unknown control byte 0x{byte:02x}"))
            return 1
        end = i
        while end < len(buf) and buf[end] >= 0x20 and buf[end] != 0x7F:
            end += 1
        text = buf[i:end].decode(CODE_PAGES[self._code_page], errors="replace")
        events.append(Text(text, self._style, self._align))
        return end - i

    def _esc(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 1 >= len(buf):
            return _INCOMPLETE
        cmd = buf[i + 1]
        if cmd == 0x40:  # ESC @
            self._style, self._align, self._code_page = Style(), Align.LEFT, 0
            events.append(Init())
            return 2
        if cmd in _ESC_SKIP:
            name, size = _ESC_SKIP[cmd]
            if i + 2 + size > len(buf):
                return _INCOMPLETE
            events.append(Skipped(name, at))
            return 2 + size
        if i + 2 >= len(buf):
            return _INCOMPLETE
        n = buf[i + 2]
        if cmd == 0x21:  # ESC ! print mode
            self._style = replace(
                self._style,
                font=n & 0x01,
                bold=bool(n & 0x08),
                height=2 if n & 0x10 else 1,
                width=2 if n & 0x20 else 1,
                underline=1 if n & 0x80 else 0,
            )
        elif cmd == 0x45:  # ESC E emphasis
            self._style = replace(self._style, bold=bool(n & 1))
        elif cmd == 0x2D:  # ESC - underline
            self._style = replace(self._style, underline=n & 0x03)
        elif cmd == 0x4D:  # ESC M font
            self._style = replace(self._style, font=n & 0x01)
        elif cmd == 0x61:  # ESC a justification
            if n & 0x0F not in (0, 1, 2):
                events.append(ParseError(at, f"ESC a with unknown justification {n}"))
            else:
                self._align = Align(n & 0x0F)
        elif cmd == 0x74:  # ESC t code page
            if n in CODE_PAGES:
                self._code_page = n
            else:
                events.append(ParseError(at, f"ESC t selects code page {n}, not emulated"))
        elif cmd == 0x64:  # ESC d print and feed n lines
            events.append(Feed(n))
        else:
            events.append(ParseError(at, f"unknown command ESC 0x{cmd:02x}"))
            return 2
        return 3

    def _gs(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 1 >= len(buf):
            return _INCOMPLETE
        cmd = buf[i + 1]
        if cmd == 0x28:  # GS ( fn pL pH ...
            return self._gs_paren(buf, i, at, events)
        if cmd == 0x76:  # GS v 0 raster
            return self._raster(buf, i, at, events)
        if cmd == 0x6B:  # GS k barcode
            return self._barcode(buf, i, at, events)
        if cmd in _GS_SKIP:
            name, size = _GS_SKIP[cmd]
            if i + 2 + size > len(buf):
                return _INCOMPLETE
            events.append(Skipped(name, at))
            return 2 + size
        if i + 2 >= len(buf):
            return _INCOMPLETE
        n = buf[i + 2]
        if cmd == 0x21:  # GS ! character size
            width, height = (n >> 4) + 1, (n & 0x0F) + 1
            if width > 8 or height > 8:
                events.append(ParseError(at, f"GS ! size byte 0x{n:02x} out of range"))
            else:
                self._style = replace(self._style, width=width, height=height)
            return 3
        if cmd == 0x42:  # GS B invert
            self._style = replace(self._style, invert=bool(n & 1))
            return 3
        if cmd == 0x56:  # GS V cut
            if n in (0, 1, 48, 49):
                events.append(Cut(partial=n in (1, 49)))
                return 3
            if n in (65, 66):
                if i + 3 >= len(buf):
                    return _INCOMPLETE
                events.append(Feed(1) if buf[i + 3] else Newline(self._align))
                events.append(Cut(partial=n == 66))
                return 4
            events.append(ParseError(at, f"GS V with unknown cut mode {n}"))
            return 3
        events.append(ParseError(at, f"unknown command GS 0x{cmd:02x}"))
        return 2

    def _gs_paren(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 5 > len(buf):
            return _INCOMPLETE
        fn = buf[i + 2]
        size = buf[i + 3] | buf[i + 4] << 8
        end = i + 5 + size
        if end > len(buf):
            return _INCOMPLETE
        body = buf[i + 5 : end]
        if fn == 0x6B and len(body) >= 2 and body[0] == 0x31:  # GS ( k, cn=49: QR code
            self._qr(body[1], body[2:], at, events)
        else:
            events.append(Skipped(f"GS ( {chr(fn) if 32 <= fn < 127 else hex(fn)}", at))
        return end - i

    def _qr(self, fn: int, args: bytes, at: int, events: list[Event]) -> None:
        if fn == 65:  # model
            return
        if fn == 67 and len(args) == 1:  # module size
            if not 1 <= args[0] <= 16:
                events.append(ParseError(at, f"QR module size {args[0]} out of 1-16"))
            else:
                self._qr_module = args[0]
        elif fn == 69 and len(args) == 1:  # error correction level
            if args[0] not in _EC_LEVELS:
                events.append(ParseError(at, f"QR error correction {args[0]} not 48-51"))
            else:
                self._qr_ec = _EC_LEVELS[args[0]]
        elif fn == 80 and args[:1] == b"0":  # store data
            self._qr_data = args[1:]
        elif fn == 81:  # print stored symbol
            if not self._qr_data:
                events.append(ParseError(at, "QR print with no data stored"))
            else:
                events.append(QrCode(self._qr_data, self._qr_module, self._qr_ec, self._align))
        elif fn == 82:  # transmit size information: nothing on paper
            events.append(Skipped("GS ( k QR size information", at))
        else:
            events.append(ParseError(at, f"GS ( k QR function {fn} with {len(args)} byte(s)"))

    def _raster(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 8 > len(buf):
            return _INCOMPLETE
        if buf[i + 2] not in (0x00, 0x30):
            events.append(ParseError(at, f"GS v with unknown function 0x{buf[i + 2]:02x}"))
            return 2
        width_bytes = buf[i + 4] | buf[i + 5] << 8
        height = buf[i + 6] | buf[i + 7] << 8
        size = width_bytes * height
        if size == 0 or size > MAX_RASTER_BYTES:
            events.append(ParseError(at, f"GS v 0 image of {width_bytes}x{height} bytes rejected"))
            return 8
        if i + 8 + size > len(buf):
            return _INCOMPLETE
        data = bytes(buf[i + 8 : i + 8 + size])
        events.append(Raster(width_bytes * 8, height, data, self._align))
        return 8 + size

    def _barcode(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 3 >= len(buf):
            return _INCOMPLETE
        m = buf[i + 2]
        if m <= 6:  # function A: data ends with NUL
            end = buf.find(b"\x00", i + 3)
            if end < 0:
                return _INCOMPLETE
            events.append(Skipped("GS k barcode", at))
            return end + 1 - i
        size = buf[i + 3]
        if i + 4 + size > len(buf):
            return _INCOMPLETE
        events.append(Skipped("GS k barcode", at))
        return 4 + size

    def _dle(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 2 >= len(buf):
            return _INCOMPLETE
        cmd, n = buf[i + 1], buf[i + 2]
        if cmd == EOT and 1 <= n <= 4:
            events.append(StatusQuery(n, at))
            return 3
        if cmd == ENQ and n in (1, 2):
            events.append(Skipped("DLE ENQ recovery", at))
            return 3
        events.append(ParseError(at, f"unknown real-time command DLE 0x{cmd:02x} 0x{n:02x}"))
        return 1

    def _fs(self, buf: bytes, i: int, at: int, events: list[Event]) -> int | None:
        if i + 1 >= len(buf):
            return _INCOMPLETE
        if buf[i + 1] in (0x2E, 0x26):  # FS . / FS & : Kanji mode off / on
            events.append(Skipped("FS Kanji mode", at))
            return 2
        events.append(ParseError(at, f"unknown command FS 0x{buf[i + 1]:02x}"))
        return 2
