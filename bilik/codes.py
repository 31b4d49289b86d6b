"""What a scanned or typed code is: a queue ticket's QR, a booking code, or neither.

The kiosk and the booth read the same two kinds of code and must tell them apart the same
way: a ticket QR (``BILIK1:T:...``, printed by the kiosk) claims a booth; a booking code
(the QR of an online booking, or the code typed from it) checks in. A pure function, so
that both agents and their tests agree on it.

:data:`BOOKING_CODE_RE` is the one definition of a booking code: the server checks imported
bookings and the scheduler's events against it, and the agents tell a booking code from
garbage with it, so a code the server could never hold is not sent to it.
"""

from __future__ import annotations

import enum
import re

# 4-32 letters, digits or '-', starting with a letter or digit (fits protocol CheckIn.code).
BOOKING_CODE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]{3,31}\Z")
TICKET_QR_PREFIX = "BILIK1:T:"  # a printed queue ticket (signaling.queue.tickets.ticket_qr)


class CodeKind(enum.StrEnum):
    TICKET = "ticket"  # a queue ticket's QR: claimed at the booth it is called to
    BOOKING = "booking"  # a booking code: checked in (and claimed when its turn is here)
    UNREADABLE = "unreadable"  # neither: control characters, too long, or empty


def is_booking_code(code: str) -> bool:
    """Whether ``code`` (already stripped) is shaped like a booking code."""
    return BOOKING_CODE_RE.fullmatch(code) is not None


def kind_of(raw: str) -> CodeKind:
    code = raw.strip()
    if code.startswith(TICKET_QR_PREFIX):
        return CodeKind.TICKET
    if is_booking_code(code):
        return CodeKind.BOOKING
    return CodeKind.UNREADABLE
