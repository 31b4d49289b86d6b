"""What became of one kiosk request: the outcome, and the catalogue text the participant sees.

Shared by the kiosk agent (:mod:`frontdesk.kiosk`), its local endpoint and touch screen
(:mod:`frontdesk.kiosk_control`), and their tests.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from bilik.catalogue import Message, text

log = logging.getLogger(__name__)

# Server refusals without a catalogue key of their own, and what to show for them.
_CODE_TEXT = {
    "daily_limit": "queue.daily_limit",
    "unknown_appointment": "queue.booking_unknown",
}


class Outcome(enum.StrEnum):
    PRINTED = "printed"  # issued and printed
    PRINT_FAILED = "print_failed"  # issued; the printer failed (the number is still given)
    NOT_PRINTED = "not_printed"  # issued; this kiosk has no printer configured
    REFUSED = "refused"  # the server said no (text says why); nothing printed
    OFFLINE = "offline"  # the server could not be asked; nothing issued


@dataclass(frozen=True)
class KioskResult:
    """What became of one request: shown to the participant, returned to the caller."""

    outcome: Outcome
    message: Message  # what the kiosk shows (catalogue text)
    number: str = ""
    ticket: str = ""
    service: str = ""
    qr: str = ""
    ahead: int = 0
    expected_wait_s: float = 0.0
    wait: Message | None = None  # the expected wait as stated on the ticket
    slot: float | None = None
    code: str = ""  # the server's refusal code
    detail: str = ""  # for logs and staff: the server's or the printer's words
    job: str = ""  # print job id

    @property
    def issued(self) -> bool:
        return self.outcome in (Outcome.PRINTED, Outcome.PRINT_FAILED, Outcome.NOT_PRINTED)

    def as_json(self) -> dict[str, Any]:
        ahead = text("queue.ahead", count=self.ahead) if self.issued and self.ahead else None
        return {
            "ahead_text": None if ahead is None else {"id": ahead.id, "en": ahead.en},
            "outcome": self.outcome.value, "issued": self.issued,
            "text": {"id": self.message.id, "en": self.message.en, "key": self.message.key},
            "wait": None if self.wait is None else {"id": self.wait.id, "en": self.wait.en},
            "number": self.number, "ticket": self.ticket, "service": self.service,
            "qr": self.qr, "ahead": self.ahead, "expected_wait_s": self.expected_wait_s,
            "slot": self.slot, "code": self.code, "detail": self.detail, "job": self.job,
        }


def refusal_text(code: str, text_key: str) -> Message:
    """The catalogue text for a server refusal: its own key, else by code, else generic."""
    for key in (text_key, _CODE_TEXT.get(code, ""), "frontdesk.refused"):
        if key:
            try:
                return text(key)
            except KeyError:
                log.warning("server named unknown catalogue text %r", key)
    return text("frontdesk.refused")  # pragma: no cover - the last key always exists


def with_print(base: KioskResult, outcome: Outcome, detail: str, job: str) -> KioskResult:
    """``base`` (a ticket issued) as it came out of the printer."""
    message = base.message
    if outcome is Outcome.PRINT_FAILED:
        message = text("frontdesk.print_failed", number=base.number)
    return KioskResult(
        outcome, message, number=base.number, ticket=base.ticket, service=base.service,
        qr=base.qr, ahead=base.ahead, expected_wait_s=base.expected_wait_s, wait=base.wait,
        slot=base.slot, detail=detail, job=job,
    )
