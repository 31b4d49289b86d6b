"""Decisions out of the scheduler: what the server must tell displays, booths, hubs and staff.

Each is a flat frozen dataclass with a ``KIND``; ``to_dict()`` is its wire form. The order of
a returned list matters (a ``CLAIMED`` precedes its ``PAIR``; an ``UNPAIR`` precedes a ``REPAIR``).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import ClassVar

from signaling.queue.messages import Record, register


class DecisionKind(enum.StrEnum):
    TICKET_ISSUED = "ticket_issued"  # print this ticket
    BOOKED = "booked"  # bookings imported
    CHECKED_IN = "checked_in"  # print the booking's ticket
    CALL = "call"  # displays and booth: "A012 -> Bilik 3"
    RECALL = "recall"  # call the same ticket again
    NO_SHOW = "no_show"  # the called ticket never came; the booth calls the next
    CLAIMED = "claimed"  # the participant sits in the booth: take the number off the display
    MOVE = "move"  # the booth failed: its ticket waits again, first in line
    PAIR = "pair"  # connect booth and officer hub
    REPAIR = "repair"  # connect the booth to another hub (fault, transfer, spill), ticket kept
    UNPAIR = "unpair"  # disconnect booth and hub
    WAIT_FOR_HUB = "wait_for_hub"  # claimed, but no officer has a free slot yet
    SESSION_CLOSED = "session_closed"
    APPOINTMENT_AT_RISK = "appointment_at_risk"  # predicted (or known) to start late
    APPOINTMENT_MISSED = "appointment_missed"  # the booking never checked in


class UnpairReason(enum.StrEnum):
    DONE = "done"
    HUB_OFFLINE = "hub_offline"
    BOOTH_FAULT = "booth_fault"
    TRANSFER = "transfer"
    SPILL = "spill"
    PARK = "park"


class RiskReason(enum.StrEnum):
    PREDICTED_LATE = "predicted_late"  # waiting; the forecast says it will start late
    NOT_CHECKED_IN = "not_checked_in"  # its slot came and the participant is not here
    NO_OFFICER = "no_officer"  # in a booth, no officer slot free
    NOT_ATTENDED = "not_attended"  # paired, the officer has not attended it yet


_DECISIONS: dict[str, type[Record]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision(Record):
    KIND: ClassVar[DecisionKind]
    _REGISTRY: ClassVar[dict[str, type[Record]]] = _DECISIONS


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketIssuedDecision(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.TICKET_ISSUED
    ticket: str
    number: str
    service: str
    priority: str
    qr: str
    ahead: int  # tickets called before this one, as the queue stands
    expected_wait_s: float


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Booked(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.BOOKED
    codes: tuple[str, ...]


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckedIn(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.CHECKED_IN
    code: str
    ticket: str
    number: str
    service: str
    slot: float
    qr: str
    expected_wait_s: float


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Call(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.CALL
    ticket: str
    number: str
    booth: str
    label: str
    moved: bool = False  # the ticket's earlier booth failed


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Recall(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.RECALL
    ticket: str
    number: str
    booth: str
    label: str
    attempt: int


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class NoShow(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.NO_SHOW
    ticket: str
    number: str
    booth: str


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Claimed(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.CLAIMED
    ticket: str
    number: str
    booth: str
    service: str
    appointment: str | None = None


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Move(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.MOVE
    ticket: str
    number: str
    from_booth: str


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Pair(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.PAIR
    booth: str
    hub: str
    ticket: str


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Repair(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.REPAIR
    booth: str
    hub: str
    from_hub: str
    ticket: str
    reason: UnpairReason


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Unpair(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.UNPAIR
    booth: str
    hub: str
    ticket: str
    reason: UnpairReason


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class WaitForHub(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.WAIT_FOR_HUB
    booth: str
    ticket: str


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionClosed(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.SESSION_CLOSED
    booth: str
    ticket: str
    hub: str | None
    outcome: str
    handle_s: float  # claimed to ended


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class AppointmentAtRisk(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.APPOINTMENT_AT_RISK
    code: str
    ticket: str | None
    slot: float
    predicted_start: float
    reason: RiskReason


@register(_DECISIONS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class AppointmentMissed(Decision):
    KIND: ClassVar[DecisionKind] = DecisionKind.APPOINTMENT_MISSED
    code: str
    slot: float
