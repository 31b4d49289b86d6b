"""The kiosk's queue ticket: its text (pure) and its ESC/POS bytes (pure).

Beyond what :class:`hardware.printing.QueueTicket` carries (number, service, time, QR),
the kiosk's ticket states the expected wait and how many people are ahead, as the
server forecast them, and for a checked-in booking its slot. The wait is stated
honestly: rounded up, never down (a participant told "10 minutes" who waits 12 feels
misled; one told 15 who waits 12 does not), in 5-minute steps above 10 minutes (a
forecast is not precise to the minute), and marked as an estimate.

The bytes follow the look of :func:`hardware.printing.render_ticket` (same code page,
profile, native QR) and go to the printer with :meth:`Printer.print_job`, so the driver's
status checks before and after the job apply unchanged.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from datetime import datetime

from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from bilik.catalogue import Message, text
from hardware.printing import QueueTicket
from hardware.printing.charset import printable
from hardware.printing.limits import CODE_PAGE, COLUMNS, PROFILE, QR_MODULE_DOTS
from hardware.printing.templates import TIME_FORMAT

PRIORITIES = ("elderly", "disabled", "pregnant")  # printed as a line; "none" prints nothing
ROUND_TO_5_ABOVE_MIN = 10


def service_name(service: str) -> Message:
    """The catalogue name of a service key, or the key itself (a service added at the server
    before the kiosk's catalogue knows it still gets a readable ticket)."""
    try:
        return text(f"frontdesk.service_{service}")
    except KeyError:
        return Message(f"frontdesk.service_{service}", service.upper(), service.upper())


def wait_minutes(expected_wait_s: float) -> int:
    """Minutes to announce: rounded up; in steps of 5 above 10 minutes."""
    if not math.isfinite(expected_wait_s) or expected_wait_s < 0:
        raise ValueError(f"expected wait must be a finite number >= 0, not {expected_wait_s!r}")
    minutes = max(1, math.ceil(expected_wait_s / 60.0))
    if minutes > ROUND_TO_5_ABOVE_MIN:
        minutes = 5 * math.ceil(minutes / 5)
    return minutes


def wait_message(expected_wait_s: float, ahead: int) -> Message:
    """``"Perkiraan waktu tunggu sekitar 15 menit"``, or ``"Anda berikutnya"`` when it is so."""
    if ahead <= 0 and expected_wait_s < 60.0:
        return text("frontdesk.wait_next")
    return text("queue.expected_wait", minutes=wait_minutes(expected_wait_s))


@dataclass(frozen=True)
class TicketSlip:
    """Everything printed on one queue ticket."""

    number: str
    service: str  # the service key ("jht")
    issued_at: datetime
    qr: str
    expected_wait_s: float
    ahead: int
    priority: str = "none"
    slot: datetime | None = None

    def __post_init__(self) -> None:
        # The driver's own checks: non-empty, bounded fields; printable ASCII QR payload.
        QueueTicket(self.number, service_name(self.service).both(), self.issued_at, self.qr)
        if self.ahead < 0:
            raise ValueError(f"people ahead must be >= 0, not {self.ahead}")
        wait_minutes(self.expected_wait_s)
        if self.priority != "none" and self.priority not in PRIORITIES:
            raise ValueError(f"priority must be none or one of {', '.join(PRIORITIES)}")

    def messages(self) -> list[Message]:
        """The participant-facing lines in print order (also what the kiosk logs/shows)."""
        out = [text("frontdesk.your_number", number=self.number), service_name(self.service)]
        if self.priority != "none":
            out.append(text(f"frontdesk.priority_{self.priority}"))
        if self.slot is not None:
            out.append(text("frontdesk.slot", time=self.slot.strftime("%H:%M")))
        out.append(wait_message(self.expected_wait_s, self.ahead))
        if self.ahead > 0:
            out.append(text("queue.ahead", count=self.ahead))
        return out


def _lines(printer: Dummy, value: str, columns: int = COLUMNS) -> None:
    for line in textwrap.wrap(printable(value), columns) or [""]:
        printer.textln(line)


def _both(printer: Dummy, message: Message, suffix: str = "") -> None:
    line = message.both() + suffix
    if len(printable(line)) <= COLUMNS:
        printer.textln(printable(line))
        return
    _lines(printer, message.id + suffix)
    _lines(printer, message.en + suffix)


def render_slip(slip: TicketSlip) -> bytes:
    """The ESC/POS bytes of the ticket: title, number, service, wait, time, QR, cut."""
    p = Dummy(profile=PROFILE)
    p.hw("INIT")  # ESC @ resets the code page, so select it after
    p.charcode(CODE_PAGE)
    p.set(align="center", bold=True)
    _both(p, text("printer.ticket_title"))
    p.set(double_width=True, double_height=True, bold=True)
    _lines(p, slip.number, COLUMNS // 2)
    p.set(normal_textsize=True, bold=False)
    p.ln()
    _both(p, text("printer.service"), ":")
    p.set(bold=True)
    _both(p, service_name(slip.service))
    p.set(bold=False)
    if slip.priority != "none":
        _both(p, text(f"frontdesk.priority_{slip.priority}"))
    if slip.slot is not None:
        _both(p, text("frontdesk.slot", time=slip.slot.strftime("%H:%M")))
    p.ln()
    p.set(bold=True)
    _both(p, wait_message(slip.expected_wait_s, slip.ahead))
    p.set(bold=False)
    if slip.ahead > 0:
        _both(p, text("queue.ahead", count=slip.ahead))
    _both(p, text("frontdesk.wait_estimate"))
    p.ln()
    _lines(p, f"{text('printer.issued_at').both()}: {slip.issued_at.strftime(TIME_FORMAT)}")
    p.ln()
    p.set(align="center")
    p.qr(slip.qr, native=True, size=QR_MODULE_DOTS, ec=QR_ECLEVEL_M)
    p.ln()
    _both(p, text("printer.ticket_scan"))
    _both(p, text("printer.ticket_wait"))
    p.cut()
    return bytes(p.output)
