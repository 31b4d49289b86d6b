"""What the branch server's messages mean for the booth's flow: message in, event out (pure).

The agent hands every message here first. :class:`Inbound` remembers what is needed to read
them: the claims and check-ins in flight (message id -> the code sent: the reply names the
request, not the code) and the numbers the queue called (ticket -> number, from ``Called``,
for the waiting screen). The call's own messages (``Answer``, ``Ice``) are the call's, not the
flow's: :meth:`Inbound.is_flow_message` tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bilik.codes import CodeKind, kind_of
from booth import limits
from booth.state.events import (
    Attention,
    CheckedIn,
    Claimed,
    ClaimRefused,
    DocsRequested,
    DocUpdated,
    Event,
    Paired,
    Released,
    VerdictGiven,
    Waiting,
)
from booth.state.model import Booth
from signaling import protocol as p

# Claim and check-in errors without a catalogue key of their own.
CLAIM_TEXT = {"unknown_ticket": "queue.ticket_unknown",
              "unknown_appointment": "queue.booking_unknown"}
CODE_MAX_CHARS = 256  # longer than any ticket QR or booking code


def readable(code: str) -> bool:
    """A code a reader could have read off a ticket (not line noise)."""
    return code.isprintable() and 0 < len(code) <= CODE_MAX_CHARS


@dataclass
class Inbound:
    device_id: str | None = None  # this booth, once the server welcomed it
    claims: dict[str, str] = field(default_factory=dict)  # Claim/CheckIn id -> code sent
    called: dict[str, str] = field(default_factory=dict)  # ticket id -> number, from Called
    last_code: tuple[str, float] = ("", 0.0)  # the last code read, and when

    def fresh(self, code: str, now: float) -> bool:
        """False for the same code read again within ``CLAIM_REPEAT_S`` (a reader sees a
        ticket held in front of it many times)."""
        last, at = self.last_code
        if code == last and now - at < limits.CLAIM_REPEAT_S:
            return False
        self.last_code = (code, now)
        return True

    def claim(self, code: str) -> p.Claim | p.CheckIn:
        """The message claiming ``code``: a booking code checks in (and claims this booth
        when its turn is here), anything else is a ticket's claim. Remembered until answered."""
        msg: p.Claim | p.CheckIn = (
            p.CheckIn(code=code.strip()) if kind_of(code) is CodeKind.BOOKING
            else p.Claim(qr=code))
        self.claims[msg.id] = code
        return msg

    def is_flow_message(self, msg: p.Message) -> bool:
        """Whether ``msg`` is about the participant's visit (else it is the call's)."""
        if isinstance(msg, p.Ok | p.TicketInfo | p.Error):
            return msg.ref in self.claims
        return isinstance(msg, p.Called | p.Waiting | p.Attention | p.DocRequest
                          | p.DocUpdate | p.Verdict)

    def event(self, msg: p.Message, booth: Booth, at: float) -> Event | None:
        """The event ``msg`` means for ``booth``; None when it means none (a pairing for
        another booth, a release after the verdict, a message of the call)."""
        if isinstance(msg, p.Ok | p.TicketInfo | p.Error) and msg.ref in self.claims:
            return self._answer(msg, self.claims.pop(msg.ref), at)
        if isinstance(msg, p.Called):
            self.called[msg.ticket] = msg.number
            return None
        if isinstance(msg, p.Waiting):
            return Waiting(at, msg.ticket, msg.expected_wait_s, msg.position,
                           self.called.get(msg.ticket, ""))
        if isinstance(msg, p.Attention):
            return Attention(at, msg.focused)
        if isinstance(msg, p.DocRequest):
            return DocsRequested(at, tuple(msg.kinds), msg.rescan, msg.reason)
        if isinstance(msg, p.DocUpdate):
            kind = msg.kind
            for doc in booth.documents:  # the hub may name the document, not the kind
                if msg.document and doc.document == msg.document:
                    kind = doc.kind
            return DocUpdated(at, kind, msg.document, msg.status, msg.reason)
        if isinstance(msg, p.Verdict):
            return VerdictGiven(at, msg.ticket, msg.reference, msg.outcome, msg.next_steps)
        if isinstance(msg, p.Pair):
            if self.device_id is not None and msg.booth != self.device_id:
                return None  # a pairing for another booth
            return Paired(at, msg.pairing, msg.hub, msg.ticket, msg.number)
        # A call released after the verdict ends the visit as planned: nothing to redo.
        if isinstance(msg, p.Release) and (
                msg.reason != p.ReleaseReason.DONE.value or booth.verdict is None):
            return Released(at, msg.pairing,
                            parked=msg.reason == p.ReleaseReason.PARK.value)
        return None

    @staticmethod
    def _answer(msg: p.Ok | p.TicketInfo | p.Error, code: str, at: float) -> Event:
        if isinstance(msg, p.Ok):
            return Claimed(at)
        if isinstance(msg, p.TicketInfo):
            # Checked in. Claimed here, the Called, Waiting or Pair that follows moves the
            # booth on; otherwise the participant is told their number.
            return CheckedIn(at, msg.number)
        refused = ("booth.check_in_refused" if kind_of(code) is CodeKind.BOOKING
                   else "booth.claim_refused")
        key = msg.text_key or CLAIM_TEXT.get(msg.code, refused)
        values = tuple(sorted(msg.values.items())) if msg.text_key else ()
        return ClaimRefused(at, key, values)
