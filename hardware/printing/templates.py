"""Claim receipts and the self-test page, as ESC/POS bytes; a queue ticket's fields.

Pure functions: a template's data in, the exact bytes out. The bytes are built by
python-escpos's ``Dummy`` printer (it collects what a real printer would be sent), so
no command is written by hand here; the transport that carries them is elsewhere.
Labels come from the catalogue (``printer.*``), Indonesian first, English beside it.
Text goes through one explicit code page (``limits.CODE_PAGE``, selected with ESC t)
and QR codes use the printer's native QR command (GS ( k), so they print sharp at
any module size and cost a few bytes instead of a raster image.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from bilik.catalogue import text
from hardware.printing.charset import printable
from hardware.printing.limits import (
    CODE_PAGE,
    COLUMNS,
    MAX_FIELD_CHARS,
    PROFILE,
    QR_MODULE_DOTS,
)

TIME_FORMAT = "%d-%m-%Y %H:%M"
SELFTEST_QR = "BILIK-SELFTEST"
SELFTEST_CHARSET = "ABC xyz 0123456789 .,:;-/() Rp1.250.000 àéüöñç €"


@dataclass(frozen=True)
class QueueTicket:
    """What every queue ticket carries, checked as the driver needs it (bounded, printable
    fields; a printable ASCII QR payload). The ticket's layout is the kiosk's own, the one
    ticket template (``frontdesk/ticket_slip.py``), which checks its fields through this."""

    number: str  # the ticket number called out, e.g. "A-017"
    service: str  # the service asked for, already in the participant's languages
    issued_at: datetime
    qr_payload: str  # what the booth's QR reader will read back, e.g. the ticket id

    def __post_init__(self) -> None:
        _check_field("number", self.number)
        _check_field("service", self.service)
        _check_qr(self.qr_payload)


@dataclass(frozen=True)
class ClaimReceipt:
    reference: str  # the claim reference the participant quotes later
    decision: str  # the officer's decision, already in the participant's languages
    next_steps: Sequence[str]
    issued_at: datetime
    qr_payload: str = ""  # defaults to the reference
    steps: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_field("reference", self.reference)
        _check_field("decision", self.decision)
        if isinstance(self.next_steps, str):
            raise ValueError("next_steps must be a list of steps, not one string")
        for i, step in enumerate(self.next_steps, 1):
            _check_field(f"next_steps[{i}]", step)
        object.__setattr__(self, "steps", tuple(self.next_steps))
        if not self.qr_payload:
            object.__setattr__(self, "qr_payload", self.reference)
        _check_qr(self.qr_payload)


def _check_field(name: str, value: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} is empty")
    if len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"{name} is {len(value)} characters; at most {MAX_FIELD_CHARS}")


def _check_qr(payload: str) -> None:
    _check_field("qr_payload", payload)
    if not payload.isascii() or not payload.isprintable():
        raise ValueError(f"qr_payload must be printable ASCII, got {payload!r}")


def _start() -> Dummy:
    printer = Dummy(profile=PROFILE)
    printer.hw("INIT")  # ESC @ first: it also resets the code page, so select it after
    printer.charcode(CODE_PAGE)
    return printer


def _lines(printer: Dummy, value: str, *, columns: int = COLUMNS, indent: str = "") -> None:
    wrapped = textwrap.wrap(
        printable(value), columns, initial_indent="", subsequent_indent=indent
    )
    for line in wrapped or [""]:
        printer.textln(line)


def _both(printer: Dummy, key: str, suffix: str = "") -> None:
    """A catalogue message, Indonesian / English on one line, or on two if it is too long."""
    message = text(key)
    line = message.both() + suffix
    if len(printable(line)) <= COLUMNS:
        printer.textln(printable(line))
        return
    _lines(printer, message.id + suffix)
    _lines(printer, message.en + suffix)


def _qr(printer: Dummy, payload: str) -> None:
    printer.set(align="center")
    printer.qr(payload, native=True, size=QR_MODULE_DOTS, ec=QR_ECLEVEL_M)
    printer.ln()


def render_receipt(receipt: ClaimReceipt) -> bytes:
    """The ESC/POS bytes of a claim receipt: reference, decision, next steps, QR."""
    p = _start()
    p.set(align="center", bold=True, double_height=True)
    _both(p, "printer.receipt_title")
    p.set(normal_textsize=True, bold=False, align="left")
    p.ln()
    _both(p, "printer.reference", ":")
    p.set(bold=True, double_height=True)
    _lines(p, receipt.reference)
    p.set(normal_textsize=True, bold=False)
    _both(p, "printer.decision", ":")
    p.set(bold=True)
    _lines(p, receipt.decision)
    p.set(bold=False)
    if receipt.steps:
        _both(p, "printer.next_steps", ":")
        for i, step in enumerate(receipt.steps, 1):
            _lines(p, f"{i}. {step}", indent=" " * (len(str(i)) + 2))
    _lines(p, f"{text('printer.issued_at').both()}: {receipt.issued_at.strftime(TIME_FORMAT)}")
    p.ln()
    _qr(p, receipt.qr_payload)
    _both(p, "printer.receipt_scan")
    p.set(bold=True)
    _both(p, "printer.receipt_keep")
    p.set(bold=False)
    p.cut()
    return bytes(p.output)


def render_selftest(address: str, status: str, printed_at: datetime) -> bytes:
    """A page a technician prints to check text, code page, sizes, QR and the cutter."""
    p = _start()
    p.set(align="center", bold=True, double_height=True, double_width=True)
    _lines(p, "BILIK", columns=COLUMNS // 2)
    p.set(normal_textsize=True, bold=True)
    _both(p, "printer.selftest_title")
    p.set(bold=False, align="left")
    p.ln()
    _lines(p, f"Printer: {address}")
    _lines(p, f"Status: {status}")
    _lines(p, f"{text('printer.issued_at').both()}: {printed_at.strftime(TIME_FORMAT)}")
    _both(p, "printer.selftest_charset", ":")
    _lines(p, SELFTEST_CHARSET)
    _lines(p, "-" * COLUMNS)
    _lines(p, "1234567890" * (COLUMNS // 10) + "12345678"[: COLUMNS % 10])
    p.set(double_width=True)
    _lines(p, "2x lebar / wide", columns=COLUMNS // 2)
    p.set(normal_textsize=True, double_height=True)
    _lines(p, "2x tinggi / tall")
    p.set(normal_textsize=True)
    p.ln()
    _qr(p, SELFTEST_QR)
    _both(p, "printer.selftest_ok")
    p.cut()
    return bytes(p.output)
