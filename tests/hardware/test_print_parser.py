"""The emulator's ESC/POS parser and renderer: any chunking, clear errors, real images."""

from __future__ import annotations

from datetime import datetime

from escpos.printer import Dummy
from PIL import Image, ImageDraw
from pyzbar.pyzbar import decode as zbar_decode

from hardware.emulators.escpos_parse import (
    Align,
    Cut,
    EscposParser,
    Event,
    ParseError,
    Raster,
    StatusQuery,
    Text,
)
from hardware.emulators.escpos_render import PageBuilder, render_png
from hardware.printing.templates import ClaimReceipt, render_receipt

RECEIPT = render_receipt(
    ClaimReceipt(
        "KLM-2024-000777", "Disetujui / Approved", ["Tunggu transfer"], datetime(2024, 1, 2)
    )
)


def test_any_chunking_gives_the_same_events() -> None:
    whole = EscposParser().feed(RECEIPT)
    for size in (1, 2, 3, 5, 64):
        parser = EscposParser()
        events = []
        for i in range(0, len(RECEIPT), size):
            events += parser.feed(RECEIPT[i : i + size])
        merged = _merge_text(events)
        assert merged == _merge_text(whole), size
        assert parser.finish() == []


def _merge_text(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if isinstance(event, Text) and out and isinstance(out[-1], Text) and (
            out[-1].style, out[-1].align) == (event.style, event.align):
            out[-1] = Text(out[-1].text + event.text, event.style, event.align)
        else:
            out.append(event)
    return out


def test_unknown_commands_become_errors_with_offsets_and_parsing_goes_on() -> None:
    parser = EscposParser()
    events = parser.feed(b"AB\x1b\x99CD\x07E\x1d\xfeF\n\x1dV\x00")
    errors = [e for e in events if isinstance(e, ParseError)]
    assert [(e.offset, e.message) for e in errors] == [
        (2, "unknown command ESC 0x99"),
        (6, "unknown control byte 0x07"),
        (8, "unknown command GS 0xfe"),
    ]
    assert "".join(e.text for e in events if isinstance(e, Text)) == "ABCDEF"
    assert isinstance(events[-1], Cut)


def test_offsets_count_across_chunks_and_a_cut_off_command_is_reported() -> None:
    parser = EscposParser()
    parser.feed(b"0123456789")
    events = parser.feed(b"\x10\x04\x02xy\x10\x04\x09")
    assert StatusQuery(2, 10) in events
    assert any(isinstance(e, ParseError) and e.offset == 15 for e in events)
    parser.feed(b"\x1d(k\x10\x00")  # QR store announced, 16 bytes never come
    [error] = [e for e in parser.finish() if isinstance(e, ParseError)]
    assert error.offset == 18  # 10 + 5 + 3 bytes before it
    assert "stream ended inside a command" in error.message


def test_random_garbage_never_raises_and_is_reported_where_it_is() -> None:
    import random

    rng = random.Random(7)
    parser = EscposParser()
    builder = PageBuilder()
    events: list[Event] = []
    total = 0
    for _ in range(200):
        chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        total += len(chunk)
        for event in parser.feed(chunk):
            events.append(event)
            page = builder.feed(event)
            if page is not None:
                render_png(page)
    events += parser.finish()
    offsets = [e.offset for e in events if isinstance(e, ParseError)]
    assert offsets, "random bytes must produce parse errors, not pass as commands"
    assert offsets == sorted(offsets) and offsets[0] >= 0 and offsets[-1] <= total


def test_raster_image_from_python_escpos_is_drawn() -> None:
    art = Image.new("1", (64, 32), 1)
    ImageDraw.Draw(art).rectangle([8, 8, 40, 24], fill=0)
    printer = Dummy(profile="TM-T20II")
    printer.set(align="center")
    printer.image(art, impl="bitImageRaster")
    printer.cut()
    parser, builder = EscposParser(), PageBuilder()
    events = parser.feed(printer.output)
    rasters = [e for e in events if isinstance(e, Raster)]
    assert [(r.width, r.height, r.align) for r in rasters] == [(64, 32, Align.CENTER)]
    pages = [p for e in events if (p := builder.feed(e)) is not None]
    sheet = render_png(pages[0])
    left = (576 - 64) // 2
    top = 16  # page margin
    assert sheet.getpixel((left + 20, top + 16)) == 0  # inside the black box
    assert sheet.getpixel((left + 2, top + 2)) == 255  # outside it


def test_qr_code_on_the_page_decodes() -> None:
    parser, builder = EscposParser(), PageBuilder()
    pages = [p for e in parser.feed(RECEIPT) if (p := builder.feed(e)) is not None]
    decoded = [d.data.decode() for d in zbar_decode(render_png(pages[0]))]
    assert decoded == ["KLM-2024-000777"]
