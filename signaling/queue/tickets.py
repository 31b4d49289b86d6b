"""Tickets: numbering per service and day, the QR payload, and one ticket's record."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from signaling.protocol_enums import Priority
from signaling.queue import limits
from signaling.queue.errors import InvalidQr

__all__ = ["Priority", "Ticket", "TicketState"]  # Priority is the protocol's

QR_PREFIX = "BILIK1"
BRANCH_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]{0,31}\Z")
TICKET_ID_RE = re.compile(r"\A\d{8}-[A-Z]\d{3}\Z")
TOKEN_RE = re.compile(rf"\A[A-Za-z0-9_-]{{1,{limits.TOKEN_CHARS}}}\Z")


class TicketState(enum.StrEnum):
    WAITING = "waiting"  # in the queue (also after its booth failed: ``moved``)
    CALLED = "called"  # called to a booth, not yet claimed
    CLAIMED = "claimed"  # the participant sits in the booth (with an officer, held, or waiting)
    DONE = "done"
    NO_SHOW = "no_show"


def day_key(now: float, utc_offset_min: int) -> str:
    """The branch's local date of ``now`` as ``YYYYMMDD`` (numbering restarts each day)."""
    local = datetime.fromtimestamp(now, UTC) + timedelta(minutes=utc_offset_min)
    return local.strftime("%Y%m%d")


def local_hour(now: float, utc_offset_min: int) -> int:
    return (datetime.fromtimestamp(now, UTC) + timedelta(minutes=utc_offset_min)).hour


def number(letter: str, n: int) -> str:
    """``number("A", 12) == "A012"``; what the display and the printed ticket show."""
    return f"{letter}{n:03d}"


def ticket_qr(branch: str, ticket_id: str, token: str) -> str:
    """The payload printed as the ticket's QR code and scanned at the booth."""
    return f"{QR_PREFIX}:T:{branch}:{ticket_id}:{token}"


def parse_ticket_qr(payload: str, branch: str) -> tuple[str, str]:
    """Return ``(ticket_id, token)`` of a ticket of ``branch``; :class:`InvalidQr` otherwise."""
    if not isinstance(payload, str) or len(payload) > 160:
        raise InvalidQr("QR payload is not a short string")
    parts = payload.strip().split(":")
    if len(parts) != 5 or parts[0] != QR_PREFIX or parts[1] != "T":
        raise InvalidQr(f"not a Bilik ticket QR: {payload[:40]!r}")
    _, _, qr_branch, ticket_id, token = parts
    if qr_branch != branch:
        raise InvalidQr(f"ticket of branch {qr_branch!r}, this is branch {branch!r}")
    if not TICKET_ID_RE.fullmatch(ticket_id) or not TOKEN_RE.fullmatch(token):
        raise InvalidQr(f"malformed ticket QR: {payload[:40]!r}")
    return ticket_id, token


@dataclass
class Ticket:
    """One participant's place in the queue, and what happened to it (``history``)."""

    id: str  # "20240506-A012": unique across days
    number: str  # "A012": what people see
    service: str
    priority: Priority
    issued_at: float
    seq: int  # global issue order, breaks ties
    token: str
    appointment: str | None = None  # booking code
    slot: float | None = None
    state: TicketState = TicketState.WAITING
    booth: str | None = None
    hub: str | None = None  # current or last officer (sticky across moves)
    moved: bool = False  # back in the queue after its booth failed: goes first
    at_risk: bool = False
    recalls: int = 0
    called_at: float | None = None
    claimed_at: float | None = None
    paired_at: float | None = None
    started_at: float | None = None  # first officer attention
    ended_at: float | None = None
    outcome: str | None = None
    history: list[tuple[float, str, str]] = field(default_factory=list)

    def note(self, at: float, what: str, detail: str = "") -> None:
        self.history.append((at, what, detail))
        if len(self.history) > limits.MAX_HISTORY:
            del self.history[1 : len(self.history) - limits.MAX_HISTORY + 1]

    def order_key(self) -> tuple[int, float, int]:
        """Lower goes first: moved tickets, then bookings by slot, then priority, then others."""
        if self.moved:
            return (0, self.claimed_at or self.issued_at, self.seq)
        if self.appointment is not None and self.slot is not None:
            return (1, self.slot, self.seq)
        if self.priority is not Priority.NONE:
            return (2, self.issued_at, self.seq)
        return (3, self.issued_at, self.seq)

    def to_dict(self) -> dict[str, Any]:
        d = dict(vars(self))  # flat fields but history, copied below
        d["priority"] = self.priority.value
        d["state"] = self.state.value
        d["history"] = [list(h) for h in self.history]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ticket:
        d = dict(d)
        d["priority"] = Priority(d["priority"])
        d["state"] = TicketState(d["state"])
        d["history"] = [(float(a), str(b), str(c)) for a, b, c in d.get("history", [])]
        return cls(**d)
