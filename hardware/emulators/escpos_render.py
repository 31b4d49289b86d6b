"""Paper for the printer emulator: print events laid out into pages, pages drawn as PNG.

:class:`PageBuilder` turns the events of :mod:`hardware.emulators.escpos_parse` into
:class:`Page` objects the way a thermal printer lays out its paper (576 dots wide,
font A cells of 12x24 dots, text wrapping at the right edge, a page ending at each
cut). :func:`render_png` draws a page with Pillow: DejaVu Sans Mono when the system
has it (Pillow's built-in font otherwise), QR codes drawn by ``qrcode`` from the data
the printer stored, raster images as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from hardware.emulators.escpos_parse import (
    Align,
    Cut,
    Event,
    Feed,
    Newline,
    QrCode,
    Raster,
    Style,
    Text,
)

PAPER_DOTS = 576  # 72 mm printable at 203 dpi
CHAR_W, CHAR_H = 12, 24  # font A cell
LINE_GAP = 6  # dots between text lines (default line spacing, about 1/6 inch)
MARGIN = 16  # white border of the PNG, top and bottom
QR_QUIET_MODULES = 4
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_QR_EC = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


@dataclass
class Segment:
    text: str
    style: Style


@dataclass
class Line:
    align: Align
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    @property
    def dots(self) -> int:
        return sum(len(s.text) * CHAR_W * s.style.width for s in self.segments)

    @property
    def height(self) -> int:
        tallest = max((s.style.height for s in self.segments), default=1)
        return CHAR_H * tallest + LINE_GAP


@dataclass
class Picture:
    image: Image.Image
    align: Align
    qr_data: str | None = None


@dataclass
class Gap:
    dots: int


Block = Line | Picture | Gap


@dataclass
class Page:
    blocks: list[Block]

    @property
    def lines(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Line)]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def qr_codes(self) -> list[str]:
        return [b.qr_data for b in self.blocks if isinstance(b, Picture) and b.qr_data is not None]


class PageBuilder:
    """Feeds print events; returns a finished :class:`Page` at each cut."""

    def __init__(self) -> None:
        self._blocks: list[Block] = []
        self._line: Line | None = None

    @property
    def empty(self) -> bool:
        return not self._blocks and self._line is None

    def discard(self) -> None:
        self._blocks, self._line = [], None

    def feed(self, event: Event) -> Page | None:
        if isinstance(event, Text):
            self._text(event)
        elif isinstance(event, Newline):
            self._end_line(event.align)
        elif isinstance(event, Feed):
            if self._line is not None:
                self._end_line(self._line.align)
            self._blocks.append(Gap(event.lines * (CHAR_H + LINE_GAP)))
        elif isinstance(event, QrCode):
            self._flush()
            self._blocks.append(Picture(_qr_image(event), event.align, _qr_text(event.data)))
        elif isinstance(event, Raster):
            self._flush()
            self._blocks.append(Picture(_raster_image(event), event.align))
        elif isinstance(event, Cut):
            self._flush()
            page = Page(self._blocks)
            self._blocks = []
            return page
        return None

    def _text(self, event: Text) -> None:
        for char in event.text:
            if self._line is None:
                self._line = Line(event.align)
            if self._line.dots + CHAR_W * event.style.width > PAPER_DOTS:
                self._end_line(self._line.align)  # the printer wraps at the right edge
                self._line = Line(event.align)
            segments = self._line.segments
            if segments and segments[-1].style == event.style:
                segments[-1].text += char
            else:
                segments.append(Segment(char, event.style))

    def _end_line(self, align: Align) -> None:
        self._blocks.append(self._line if self._line is not None else Line(align))
        self._line = None

    def _flush(self) -> None:
        if self._line is not None:
            self._end_line(self._line.align)


def _qr_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _qr_image(event: QrCode) -> Image.Image:
    code = qrcode.QRCode(
        version=None,
        error_correction=_QR_EC[event.ec],
        box_size=event.module,
        border=QR_QUIET_MODULES,
    )
    code.add_data(event.data)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def _raster_image(event: Raster) -> Image.Image:
    # ESC/POS: 1 = black; Pillow's mode "1": 1 = white. Invert while unpacking.
    inverted = bytes(b ^ 0xFF for b in event.data)
    return Image.frombytes("1", (event.width, event.height), inverted).convert("L")


def _font(bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf")
    if path.exists():
        return ImageFont.truetype(str(path), 20)
    return ImageFont.load_default()


def _x(align: Align, width: int) -> int:
    if align is Align.CENTER:
        return max(0, (PAPER_DOTS - width) // 2)
    if align is Align.RIGHT:
        return max(0, PAPER_DOTS - width)
    return 0


def _segment_image(segment: Segment) -> Image.Image:
    style = segment.style
    ink, paper = (255, 0) if style.invert else (0, 255)
    cell = Image.new("L", (CHAR_W * len(segment.text), CHAR_H), paper)
    draw = ImageDraw.Draw(cell)
    font = _font(style.bold)
    for i, char in enumerate(segment.text):
        draw.text((i * CHAR_W, 0), char, font=font, fill=ink)
    if style.underline:
        draw.line([(0, CHAR_H - 2), (cell.width, CHAR_H - 2)], fill=ink, width=style.underline)
    size = (cell.width * style.width, CHAR_H * style.height)
    return cell.resize(size, Image.Resampling.NEAREST) if size != cell.size else cell


def render_png(page: Page) -> Image.Image:
    """Draw a page as a greyscale image, paper white, ink black."""
    height = 2 * MARGIN
    for block in page.blocks:
        height += block.height if isinstance(block, Line) else (
            block.image.height if isinstance(block, Picture) else block.dots
        )
    sheet = Image.new("L", (PAPER_DOTS, height), 255)
    y = MARGIN
    for block in page.blocks:
        if isinstance(block, Line):
            x = _x(block.align, block.dots)
            for segment in block.segments:
                image = _segment_image(segment)
                sheet.paste(image, (x, y + block.height - LINE_GAP - image.height))
                x += image.width
            y += block.height
        elif isinstance(block, Picture):
            image = block.image.crop((0, 0, min(block.image.width, PAPER_DOTS), block.image.height))
            sheet.paste(image, (_x(block.align, image.width), y))
            y += image.height
        else:
            y += block.dots
    return sheet
