"""The queue scheduler core: state plus ``handle(event, now) -> list[Decision]``. No I/O.

Every handler checks the event against the state first and raises a :class:`QueueError`
before changing anything, so a refused event leaves the state exactly as it was. Timeouts
(recall, no-show, missed bookings), forecasts and late alerts happen on :class:`Tick`; the
shell sends one at :meth:`Scheduler.next_deadline`. After every event, free booths call and
booths waiting for an officer are paired (:func:`~signaling.queue.moves.fill`).

The state and its queries are :class:`~signaling.queue.state.QueueState`; each event's handler
is a function over it in :mod:`~signaling.queue.arrivals`, :mod:`~signaling.queue.boothevents`,
:mod:`~signaling.queue.hubevents` or :mod:`~signaling.queue.timeouts` (:data:`HANDLERS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signaling.queue import arrivals, boothevents, hubevents, moves, timeouts
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.errors import InvalidEvent
from signaling.queue.state import SAMPLE_KINDS, Decisions, QueueState

__all__ = ["HANDLERS", "SAMPLE_KINDS", "Scheduler"]

# Each event's handler: a function of the state, the event, the time and the decisions so far.
HANDLERS: dict[type[ev.Event], Callable[[QueueState, Any, float, Decisions], None]] = {
    ev.Tick: timeouts.tick,
    ev.TicketIssued: arrivals.ticket_issued,
    ev.AppointmentsBooked: arrivals.appointments_booked,
    ev.AppointmentCheckedIn: arrivals.checked_in,
    ev.BoothAdded: boothevents.booth_added,
    ev.BoothFree: boothevents.booth_free,
    ev.BoothBusy: boothevents.booth_busy,
    ev.BoothFaulty: boothevents.booth_faulty,
    ev.BoothHealthy: boothevents.booth_healthy,
    ev.TicketClaimed: boothevents.ticket_claimed,
    ev.HubOnline: hubevents.hub_online,
    ev.HubOffline: hubevents.hub_offline,
    ev.HubCapacity: hubevents.hub_capacity,
    ev.OfficerFocus: hubevents.officer_focus,
    ev.Transfer: hubevents.transfer,
    ev.Park: hubevents.park,
    ev.Resume: hubevents.resume,
    ev.SessionEnded: hubevents.session_ended,
}


class Scheduler(QueueState):
    """One branch's queue. Build it with the rules and the branch id; feed it events."""

    def handle(self, event: ev.Event, now: float) -> list[de.Decision]:
        """Apply ``event`` at time ``now``; return what must be done, in order.

        Raises a :class:`QueueError` (and changes nothing) if the event does not fit the state.
        """
        if not isinstance(now, int | float) or now != now or now in (float("inf"), float("-inf")):
            raise InvalidEvent(f"now must be a finite number of seconds, got {now!r}")
        if now < self.now:
            raise InvalidEvent(f"time went backwards: {now} < {self.now}")
        handler = HANDLERS.get(type(event))
        if handler is None:
            raise InvalidEvent(f"not a queue event: {type(event).__name__}")
        out: Decisions = []
        handler(self, event, float(now), out)
        self.now = float(now)
        moves.fill(self, self.now, out)
        return out
