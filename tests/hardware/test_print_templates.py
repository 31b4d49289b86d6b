"""Templates: exact bytes (golden files), readable Indonesian, valid input only.

The golden files were written from a first run (``python -m tests.hardware.test_print_templates``)
and inspected by decoding them with the emulator's parser: no parse errors, the lines
and QR data below. Regenerate them only after a deliberate template change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from frontdesk.ticket_slip import TicketSlip, render_slip
from hardware.emulators.escpos_parse import EscposParser, ParseError
from hardware.emulators.escpos_render import Page, PageBuilder
from hardware.printing.charset import printable
from hardware.printing.templates import (
    ClaimReceipt,
    QueueTicket,
    render_receipt,
    render_selftest,
)

GOLDEN = Path(__file__).parent / "golden"
WHEN = datetime(2024, 3, 12, 9, 41)
# The one ticket template is the kiosk's (frontdesk/ticket_slip.py); its bytes are pinned here
# beside the receipt's and the self-test page's.
TICKET = TicketSlip("A-017", "jht", WHEN, "TKT-20240312-A017", expected_wait_s=600.0, ahead=2)
RECEIPT = ClaimReceipt(
    reference="KLM-2024-000123",
    decision="Disetujui / Approved",
    next_steps=[
        "Dana ditransfer ke rekening bank Anda dalam 5 hari kerja / "
        "The money reaches your bank account within 5 working days",
        "Simpan tanda terima ini sampai dana diterima / Keep this receipt until the money arrives",
    ],
    issued_at=WHEN,
)


def samples() -> dict[str, bytes]:
    return {
        "ticket.bin": render_slip(TICKET),
        "receipt.bin": render_receipt(RECEIPT),
        "selftest.bin": render_selftest("serial:/dev/ttyUSB0?baudrate=19200", "ready", WHEN),
    }


def pages_of(data: bytes) -> tuple[list[Page], list[ParseError]]:
    parser, builder = EscposParser(), PageBuilder()
    events = parser.feed(data) + parser.finish()
    pages = [page for event in events if (page := builder.feed(event)) is not None]
    return pages, [e for e in events if isinstance(e, ParseError)]


@pytest.mark.parametrize("name", ["ticket.bin", "receipt.bin", "selftest.bin"])
def test_template_bytes_match_golden_file(name: str) -> None:
    assert samples()[name] == (GOLDEN / name).read_bytes()


def test_golden_ticket_decodes_to_the_ticket() -> None:
    pages, errors = pages_of((GOLDEN / "ticket.bin").read_bytes())
    assert errors == []
    assert len(pages) == 1
    lines = pages[0].lines
    assert lines[:2] == ["Nomor antrean / Queue number", "A-017"]
    assert "Klaim Jaminan Hari Tua (JHT)" in lines and "Old-age savings claim (JHT)" in lines
    assert "Perkiraan waktu tunggu sekitar 10 menit" in lines
    assert "Waktu / Time: 12-03-2024 09:41" in lines
    assert pages[0].qr_codes == ["TKT-20240312-A017"]


def test_golden_receipt_decodes_to_the_receipt() -> None:
    pages, errors = pages_of((GOLDEN / "receipt.bin").read_bytes())
    assert errors == []
    text = pages[0].text
    for label in ("Nomor referensi / Reference:", "Keputusan / Decision:",
                  "Langkah selanjutnya / Next steps:", "KLM-2024-000123", "Disetujui / Approved"):
        assert label in text
    assert "1. Dana ditransfer ke rekening bank Anda dalam 5" in pages[0].lines
    assert pages[0].qr_codes == ["KLM-2024-000123"]


def test_ticket_number_is_printed_large_and_bold() -> None:
    pages, _ = pages_of(render_slip(TICKET))
    number = pages[0].blocks[1]
    style = number.segments[0].style  # type: ignore[union-attr]
    assert (style.width, style.height, style.bold) == (2, 2, True)


def test_every_line_fits_the_paper() -> None:
    for data in samples().values():
        pages, _ = pages_of(data)
        assert all(len(line) <= 48 for line in pages[0].lines)


def test_text_goes_through_an_explicit_code_page() -> None:
    data = render_selftest("tcp:printer:9100", "ready", WHEN)
    assert data.startswith(b"\x1b@\x1bt\x13")  # ESC @, then ESC t 19 = CP858
    assert "àéüöñç €".encode("cp858") in data
    pages, _ = pages_of(data)
    assert "Rp1.250.000 àéüöñç €" in pages[0].text


def test_names_with_marks_outside_the_code_page_stay_readable() -> None:
    receipt = ClaimReceipt("KLM-1", "Ditunda “sementara” – Nguyễn Văn", ["Hubungi petugas"], WHEN)
    pages, errors = pages_of(render_receipt(receipt))
    assert errors == []
    assert 'Ditunda "sementara" - Nguyen Van' in pages[0].lines
    assert printable("Rp 1.000\x1b@") == "Rp 1.000@"  # an ESC in text cannot become a command


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: QueueTicket("", "Klaim", WHEN, "T"), "number is empty"),
        (lambda: QueueTicket("A-1", "Klaim", WHEN, "tiket ñ"), "printable ASCII"),
        (lambda: QueueTicket("A-1", "x" * 401, WHEN, "T"), "at most 400"),
        (lambda: ClaimReceipt("R", "OK", "one string", WHEN), "list of steps"),
        (lambda: ClaimReceipt("R", "OK", ["", "b"], WHEN), "next_steps[1] is empty"),
    ],
)
def test_bad_template_data_is_refused_with_the_field_named(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


if __name__ == "__main__":
    for file_name, content in samples().items():
        (GOLDEN / file_name).write_bytes(content)
