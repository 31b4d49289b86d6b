"""Events into the scheduler: what happened at the kiosk, the booths, the hubs, and time passing.

Every event is validated when built (also from a wire dict with ``Event.from_dict``); the
scheduler then checks it against its state. Time is never in the event: it is the ``now``
passed to :meth:`Scheduler.handle` beside it.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar

from signaling.protocol_enums import Priority
from signaling.queue import limits
from signaling.queue.errors import InvalidEvent
from signaling.queue.messages import Record, register
from signaling.queue.tickets import TOKEN_RE

ID_FIELDS = ("booth", "hub", "code", "to_hub")


class EventKind(enum.StrEnum):
    TICK = "tick"
    TICKET_ISSUED = "ticket_issued"
    APPOINTMENTS_BOOKED = "appointments_booked"
    APPOINTMENT_CHECKED_IN = "appointment_checked_in"
    BOOTH_ADDED = "booth_added"
    BOOTH_FREE = "booth_free"
    BOOTH_BUSY = "booth_busy"
    BOOTH_FAULTY = "booth_faulty"
    BOOTH_HEALTHY = "booth_healthy"
    TICKET_CLAIMED = "ticket_claimed"
    HUB_ONLINE = "hub_online"
    HUB_OFFLINE = "hub_offline"
    HUB_CAPACITY = "hub_capacity"
    OFFICER_FOCUS = "officer_focus"
    TRANSFER = "transfer"
    PARK = "park"
    RESUME = "resume"
    SESSION_ENDED = "session_ended"


_EVENTS: dict[str, type[Record]] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event(Record):
    KIND: ClassVar[EventKind]
    _REGISTRY: ClassVar[dict[str, type[Record]]] = _EVENTS

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ID_FIELDS:
            value = getattr(self, name, None)
            if value is not None and not (0 < len(value) <= limits.MAX_ID_CHARS):
                raise InvalidEvent(
                    f"{self.KIND.value}: {name} must be 1-{limits.MAX_ID_CHARS} chars"
                )


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Tick(Event):
    """Time passed: recalls, no-shows, missed bookings, forecasts and late alerts happen here.
    The shell sends one at :meth:`Scheduler.next_deadline` (or more often)."""

    KIND: ClassVar[EventKind] = EventKind.TICK


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketIssued(Event):
    """The kiosk asks for a walk-in ticket. ``token`` comes from the shell's CSPRNG and goes
    into the QR payload so that a ticket number alone cannot claim a booth."""

    KIND: ClassVar[EventKind] = EventKind.TICKET_ISSUED
    service: str
    priority: Priority = Priority.NONE
    token: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_token(self.KIND, self.token)


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class AppointmentsBooked(Event):
    """Bookings imported (see :func:`appointments.parse`); each is ``Appointment.booking()``."""

    KIND: ClassVar[EventKind] = EventKind.APPOINTMENTS_BOOKED
    bookings: tuple[dict[str, Any], ...]


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class AppointmentCheckedIn(Event):
    """A booking code scanned at the kiosk (``booth`` None) or at a booth."""

    KIND: ClassVar[EventKind] = EventKind.APPOINTMENT_CHECKED_IN
    code: str
    token: str
    booth: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_token(self.KIND, self.token)


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class BoothAdded(Event):
    """A booth joins the branch (free, healthy). ``label`` is what displays show: "Bilik 3"."""

    KIND: ClassVar[EventKind] = EventKind.BOOTH_ADDED
    booth: str
    label: str = ""


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class BoothFree(Event):
    """The booth is empty and ready to call (after the participant left, or after busy)."""

    KIND: ClassVar[EventKind] = EventKind.BOOTH_FREE
    booth: str


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class BoothBusy(Event):
    """The booth is occupied without a ticket (cleaning, technician): it does not call."""

    KIND: ClassVar[EventKind] = EventKind.BOOTH_BUSY
    booth: str


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class BoothFaulty(Event):
    """A device of the booth failed: out of calling until healthy; its ticket moves."""

    KIND: ClassVar[EventKind] = EventKind.BOOTH_FAULTY
    booth: str
    reason: str = ""


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class BoothHealthy(Event):
    KIND: ClassVar[EventKind] = EventKind.BOOTH_HEALTHY
    booth: str


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketClaimed(Event):
    """A ticket's QR scanned at a booth."""

    KIND: ClassVar[EventKind] = EventKind.TICKET_CLAIMED
    booth: str
    qr: str


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class HubOnline(Event):
    """An officer hub is up (or changed): the service types it handles and its booth slots."""

    KIND: ClassVar[EventKind] = EventKind.HUB_ONLINE
    hub: str
    skills: tuple[str, ...]
    capacity: int = limits.MAX_BOOTHS_PER_HUB
    officer: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_capacity(self.KIND, self.capacity)
        if not self.skills or len(self.skills) > limits.MAX_SKILLS:
            raise InvalidEvent(f"hub_online: skills must list 1-{limits.MAX_SKILLS} service types")


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class HubOffline(Event):
    KIND: ClassVar[EventKind] = EventKind.HUB_OFFLINE
    hub: str


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class HubCapacity(Event):
    """The officer takes at most ``capacity`` booths from now on (existing sessions stay)."""

    KIND: ClassVar[EventKind] = EventKind.HUB_CAPACITY
    hub: str
    capacity: int

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_capacity(self.KIND, self.capacity)


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class OfficerFocus(Event):
    """The officer attends ``booth`` (one of the hub's), or nobody (None)."""

    KIND: ClassVar[EventKind] = EventKind.OFFICER_FOCUS
    hub: str
    booth: str | None = None


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Transfer(Event):
    """The officer hands the booth's session to ``to_hub`` (None: any other suitable officer)."""

    KIND: ClassVar[EventKind] = EventKind.TRANSFER
    booth: str
    to_hub: str | None = None


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Park(Event):
    """Put the session on hold: the participant stays, the officer's slot is freed."""

    KIND: ClassVar[EventKind] = EventKind.PARK
    booth: str


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Resume(Event):
    """The parked case at ``booth`` goes back to an officer: to ``hub`` (the officer who
    resumes it) when it serves the service and has room, else as a claim is paired."""

    KIND: ClassVar[EventKind] = EventKind.RESUME
    booth: str
    hub: str | None = None


@register(_EVENTS)
@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionEnded(Event):
    """The session at the booth is over with ``outcome`` (approved, rejected, incomplete...);
    the booth is busy until the participant has left (:class:`BoothFree`)."""

    KIND: ClassVar[EventKind] = EventKind.SESSION_ENDED
    booth: str
    outcome: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (0 < len(self.outcome) <= limits.MAX_ID_CHARS):
            raise InvalidEvent(f"session_ended: outcome must be 1-{limits.MAX_ID_CHARS} chars")


def _check_token(kind: EventKind, token: str) -> None:
    if not TOKEN_RE.fullmatch(token):
        raise InvalidEvent(
            f"{kind.value}: token must be 1-{limits.TOKEN_CHARS} letters, digits, '-' or '_'"
        )


def _check_capacity(kind: EventKind, capacity: int) -> None:
    if not 0 <= capacity <= limits.MAX_BOOTHS_PER_HUB:
        raise InvalidEvent(
            f"{kind.value}: capacity {capacity} outside 0..{limits.MAX_BOOTHS_PER_HUB}"
        )
