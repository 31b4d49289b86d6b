"""The state of one branch's queue: tickets, bookings, booths, hubs, counters and samples, the
pure queries over them (waits, deadlines), and their persistence and invariants.

The handlers (:mod:`~signaling.queue.arrivals`, :mod:`~signaling.queue.boothevents`,
:mod:`~signaling.queue.hubevents`, :mod:`~signaling.queue.timeouts`) and the moves they share
(:mod:`~signaling.queue.moves`) are functions over one :class:`QueueState`;
:class:`~signaling.queue.scheduler.Scheduler` routes each event to its handler. No I/O.
"""

from __future__ import annotations

import re
from typing import Any, Self

from signaling.queue import decisions as de
from signaling.queue import forecast, limits
from signaling.queue.appointments import Appointment, AppointmentState
from signaling.queue.booths import Booth, BoothState
from signaling.queue.errors import (
    InvalidEvent,
    InvalidTransition,
    QueueError,
    StateCorrupt,
    UnknownBooth,
    UnknownHub,
)
from signaling.queue.routing import Hub
from signaling.queue.rules import QueueRules
from signaling.queue.tickets import (
    BRANCH_RE,
    Ticket,
    TicketState,
    day_key,
)

SAMPLE_KINDS = ("cycle", "walk", "attention_delay")
Decisions = list[de.Decision]


class QueueState:
    """One branch's queue state. Build it with the rules and the branch id."""

    def __init__(self, rules: QueueRules, *, branch: str, now: float = 0.0) -> None:
        if not BRANCH_RE.fullmatch(branch):
            raise InvalidEvent(f"branch id {branch!r} must be 1-32 letters, digits or '-'")
        letters = [*rules.services.values(), rules.appointment_letter]
        if any(not re.fullmatch(r"[A-Z]", x) for x in letters) or len(set(letters)) != len(letters):
            raise InvalidEvent(f"ticket letters must be distinct capitals: {letters}")
        self.rules = rules
        self.branch = branch
        self.now = now
        self.day = day_key(now, rules.utc_offset_min)
        self.seq = 0
        self.counters: dict[str, int] = {}  # "YYYYMMDD:A" -> last number issued
        self.tickets: dict[str, Ticket] = {}
        self.appointments: dict[str, Appointment] = {}
        self.booths: dict[str, Booth] = {}
        self.hubs: dict[str, Hub] = {}
        self.samples: dict[str, list[float]] = {k: [] for k in SAMPLE_KINDS}
        self.next_forecast = now
        self.last_tick = now - 1.0  # deadlines at or before it were handled by that tick
        self._waiting: set[str] = set()

    def waiting(self) -> list[Ticket]:
        """Waiting tickets in calling order (before appointment eligibility is applied)."""
        return sorted((self.tickets[t] for t in self._waiting), key=Ticket.order_key)

    def expected_call_times(self, now: float | None = None) -> dict[str, float]:
        """Predicted call time of every waiting ticket (and of bookings, as ``booking:CODE``)."""
        now = self.now if now is None else now
        cycle = forecast.mean(self.samples["cycle"], self.rules.default_handle_s)
        free_at = [
            forecast.booth_free_at(now, b.called_at, cycle, b.state is not BoothState.FREE)
            for b in self.booths.values()
            if not b.faulty
        ]
        queued = [
            forecast.Queued(t.id, t.order_key(), self.eligible_from(t)) for t in self.waiting()
        ]
        queued += [
            forecast.Queued(
                f"booking:{a.code}", (1, a.slot, 0), max(now, a.slot - self.rules.call_early_s)
            )
            for a in self.appointments.values()
            if a.state is AppointmentState.BOOKED
        ]
        return forecast.call_times(now, free_at, queued, cycle)

    def expected_waits(self, now: float | None = None) -> dict[str, float]:
        """Honest expected wait in seconds until each waiting ticket is called."""
        now = self.now if now is None else now
        times = self.expected_call_times(now)
        return {t: max(0.0, at - now) for t, at in times.items() if t in self._waiting}

    def next_deadline(self) -> float | None:
        """When the next :class:`Tick` is due (may be <= now: due at once); None if never."""
        r = self.rules
        times: list[float] = []
        for b in self.booths.values():
            if b.state is BoothState.CALLING and b.ticket is not None and b.called_at is not None:
                recalls = self.tickets[b.ticket].recalls
                times.append(b.called_at + r.claim_timeout_s * (recalls + 1))
            if b.state is BoothState.OCCUPIED and b.ticket is not None:
                t = self.tickets[b.ticket]
                if t.appointment is not None and t.started_at is None:
                    if b.hub is not None and t.paired_at is not None and not self.spilled(t):
                        times.append(t.paired_at + r.spill_after_s)
                    appt = self.appointments.get(t.appointment)
                    if appt is not None and not appt.alerted:
                        times.append(self.due(t) + r.sla_late_s - r.risk_margin_s)
        for a in self.appointments.values():
            if a.state is AppointmentState.BOOKED:
                times.append(a.slot + r.check_in_late_s)
                if not a.alerted:
                    times.append(a.slot)
        if self._waiting and any(b.can_call() for b in self.booths.values()):
            for tid in self._waiting:
                t = self.tickets[tid]
                if t.appointment is not None:
                    times.append(self.eligible_from(t))
        if self._waiting or any(
            a.state is AppointmentState.BOOKED for a in self.appointments.values()
        ):
            times.append(self.next_forecast)
        later = [t for t in times if t > self.last_tick]
        return min(later) if later else None

    def booth(self, booth_id: str) -> Booth:
        b = self.booths.get(booth_id)
        if b is None:
            raise UnknownBooth(f"no booth {booth_id!r}")
        return b

    def hub(self, hub_id: str) -> Hub:
        h = self.hubs.get(hub_id)
        if h is None:
            raise UnknownHub(f"no hub {hub_id!r}")
        return h

    def occupied(self, booth_id: str) -> tuple[Booth, Ticket]:
        b = self.booth(booth_id)
        if b.state is not BoothState.OCCUPIED or b.ticket is None:
            raise InvalidTransition(f"booth {b.id} has no session ({b.state.value})")
        return b, self.tickets[b.ticket]

    def booth_rank(self, b: Booth) -> int:
        t = self.tickets[b.ticket or ""]
        return 0 if t.appointment is not None else 1

    def callable_tickets(self, now: float) -> list[Ticket]:
        """Tickets a free booth may call now, best first."""
        served = {s for h in self.hubs.values() if h.online for s in h.skills}
        ready = [
            self.tickets[x]
            for x in self._waiting
            if self.tickets[x].service in served and self.eligible_from(self.tickets[x]) <= now
        ]
        ready.sort(key=Ticket.order_key)
        return ready

    def eligible_from(self, t: Ticket) -> float:
        if t.appointment is None or t.moved or t.at_risk or t.slot is None:
            return t.issued_at
        return t.slot - self.rules.call_early_s

    def due(self, t: Ticket) -> float:
        """When an appointment should start: its slot, or its check-in if that came later."""
        appt = self.appointments.get(t.appointment or "")
        slot = t.slot or 0.0
        return max(slot, appt.checked_in_at or slot) if appt else slot

    def spilled(self, t: Ticket) -> bool:
        return any(what == "spill" for _, what, _ in t.history)

    def sample(self, kind: str, value: float) -> None:
        s = self.samples[kind]
        s.append(round(max(0.0, value), 3))
        if len(s) > limits.RECENT_SAMPLES:
            del s[0]

    def prune(self, now: float) -> None:
        """A new day: forget finished tickets and bookings older than a day."""
        horizon = now - 86400.0
        for tid in [
            tid
            for tid, t in self.tickets.items()
            if t.state in (TicketState.DONE, TicketState.NO_SHOW)
            and (t.ended_at or t.issued_at) < horizon
        ]:
            del self.tickets[tid]
        for code in [
            c
            for c, a in self.appointments.items()
            if a.state is not AppointmentState.BOOKED
            and a.slot < horizon
            and (a.ticket is None or a.ticket not in self.tickets)
        ]:
            del self.appointments[code]
        today = day_key(now, self.rules.utc_offset_min)
        self.counters = {k: v for k, v in self.counters.items() if k.startswith(today)}

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to resume this queue (plain JSON values)."""
        return {
            "version": limits.STATE_VERSION,
            "branch": self.branch,
            "now": self.now,
            "day": self.day,
            "seq": self.seq,
            "counters": dict(self.counters),
            "next_forecast": self.next_forecast,
            "last_tick": self.last_tick,
            "samples": {k: list(v) for k, v in self.samples.items()},
            "tickets": [t.to_dict() for t in self.tickets.values()],
            "appointments": [a.to_dict() for a in self.appointments.values()],
            "booths": [b.to_dict() for b in self.booths.values()],
            "hubs": [h.to_dict() for h in self.hubs.values()],
        }

    @classmethod
    def from_dict(cls, d: Any, rules: QueueRules) -> Self:
        """Resume a queue saved with :meth:`to_dict`; :class:`StateCorrupt` if it does not hold."""
        if not isinstance(d, dict) or d.get("version") != limits.STATE_VERSION:
            raise StateCorrupt(f"not a queue state of version {limits.STATE_VERSION}")
        try:
            s = cls(rules, branch=d["branch"], now=float(d["now"]))
            s.day, s.seq = str(d["day"]), int(d["seq"])
            s.counters = {str(k): int(v) for k, v in d["counters"].items()}
            s.next_forecast = float(d["next_forecast"])
            s.last_tick = float(d["last_tick"])
            s.samples = {k: [float(x) for x in d["samples"].get(k, [])] for k in SAMPLE_KINDS}
            s.tickets = {t["id"]: Ticket.from_dict(t) for t in d["tickets"]}
            s.appointments = {a["code"]: Appointment.from_dict(a) for a in d["appointments"]}
            s.booths = {b["id"]: Booth.from_dict(b) for b in d["booths"]}
            s.hubs = {h["id"]: Hub.from_dict(h) for h in d["hubs"]}
        except QueueError as exc:
            raise StateCorrupt(f"queue state: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateCorrupt(f"queue state: {type(exc).__name__}: {exc}") from None
        s._waiting = {t.id for t in s.tickets.values() if t.state is TicketState.WAITING}
        s.check_invariants()
        return s

    def check_invariants(self) -> None:
        """Raise :class:`StateCorrupt` unless every ticket, booth and hub agree with each other."""

        def fail(why: str) -> None:
            raise StateCorrupt(f"queue state: {why}")

        for t in self.tickets.values():
            if (t.state is TicketState.WAITING) != (t.id in self._waiting):
                fail(f"ticket {t.id} waiting index out of step")
            if t.state in (TicketState.CALLED, TicketState.CLAIMED):
                b = self.booths.get(t.booth or "")
                if b is None or b.ticket != t.id:
                    fail(f"ticket {t.id} is {t.state.value} at {t.booth} which does not hold it")
                want = BoothState.CALLING if t.state is TicketState.CALLED else BoothState.OCCUPIED
                if b is not None and b.state is not want:
                    fail(f"ticket {t.id} is {t.state.value} but booth {b.id} is {b.state.value}")
            elif t.booth is not None:
                fail(f"ticket {t.id} is {t.state.value} but names booth {t.booth}")
        for b in self.booths.values():
            if b.state in (BoothState.CALLING, BoothState.OCCUPIED):
                held = self.tickets.get(b.ticket or "")
                if held is None or held.booth != b.id:
                    fail(f"booth {b.id} is {b.state.value} with ticket {b.ticket} not there")
            elif b.ticket is not None or b.hub is not None:
                fail(f"booth {b.id} is {b.state.value} but holds {b.ticket}/{b.hub}")
            if b.hub is not None:
                h = self.hubs.get(b.hub)
                if h is None or not h.online or b.id not in h.booths:
                    fail(f"booth {b.id} paired with {b.hub} which does not list it")
            if b.state is BoothState.OCCUPIED:
                links = (b.hub is not None) + b.held + (b.waiting_hub_since is not None)
                if links != 1:
                    fail(f"booth {b.id} must be exactly one of paired, held, waiting for a hub")
        for h in self.hubs.values():
            if len(h.booths) > limits.MAX_BOOTHS_PER_HUB or len(set(h.booths)) != len(h.booths):
                fail(f"hub {h.id} holds {h.booths}")
            for booth_id in h.booths:
                if self.booths.get(booth_id) is None or self.booths[booth_id].hub != h.id:
                    fail(f"hub {h.id} lists booth {booth_id} which is not paired with it")
            if h.focus is not None and h.focus not in h.booths:
                fail(f"hub {h.id} focuses {h.focus} which it does not hold")
