"""What a scanned or typed code is: a queue ticket's QR, a booking code, or neither.

The kiosk and the booth read the same two kinds of code and must tell them apart the same
way: a ticket QR (``BILIK1:T:...``, printed by the kiosk) claims a booth; a booking code
(the QR of an online booking, or the code typed from it) checks in. A pure function, so
that both agents and their tests agree on it.
"""

from __future__ import annotations

import enum
import re

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z")  # protocol CheckIn.code: <= 32 chars
TICKET_QR_PREFIX = "BILIK1:T:"  # a printed queue ticket (signaling.queue.tickets.ticket_qr)


class CodeKind(enum.StrEnum):
    TICKET = "ticket"  # a queue ticket's QR: claimed at the booth it is called to
    BOOKING = "booking"  # a booking code: checked in (and claimed when its turn is here)
    UNREADABLE = "unreadable"  # neither: control characters, too long, or empty


def kind_of(raw: str) -> CodeKind:
    code = raw.strip()
    if code.startswith(TICKET_QR_PREFIX):
        return CodeKind.TICKET
    if CODE_RE.match(code):
        return CodeKind.BOOKING
    return CodeKind.UNREADABLE
