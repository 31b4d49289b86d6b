"""The queue scheduler core: state plus ``handle(event, now) -> list[Decision]``. No I/O.

Every handler checks the event against the state first and raises a :class:`QueueError`
before changing anything, so a refused event leaves the state exactly as it was. Timeouts
(recall, no-show, missed bookings), forecasts and late alerts happen on :class:`Tick`; the
shell sends one at :meth:`Scheduler.next_deadline`. After every event, free booths call and
booths waiting for an officer are paired (``_fill``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from bilik.codes import is_booking_code
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import forecast, limits
from signaling.queue.appointments import Appointment, AppointmentState, refuse_check_in
from signaling.queue.booths import Booth, BoothState
from signaling.queue.errors import (
    DailyLimitReached,
    HubFull,
    InvalidEvent,
    InvalidQr,
    InvalidTransition,
    NotCalled,
    QueueError,
    StateCorrupt,
    UnknownAppointment,
    UnknownBooth,
    UnknownHub,
    UnknownService,
    UnknownTicket,
    WrongBooth,
)
from signaling.queue.routing import Hub, choose_hub
from signaling.queue.rules import QueueRules
from signaling.queue.tickets import (
    BRANCH_RE,
    Priority,
    Ticket,
    TicketState,
    day_key,
    number,
    parse_ticket_qr,
    ticket_qr,
)

log = logging.getLogger(__name__)

SAMPLE_KINDS = ("cycle", "walk", "attention_delay")
Decisions = list[de.Decision]


class Scheduler:
    """One branch's queue. Build it with the rules and the branch id; feed it events."""

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
        self._handlers: dict[type[ev.Event], Callable[[Any, float, Decisions], None]] = {
            ev.Tick: self._tick,
            ev.TicketIssued: self._ticket_issued,
            ev.AppointmentsBooked: self._appointments_booked,
            ev.AppointmentCheckedIn: self._checked_in,
            ev.BoothAdded: self._booth_added,
            ev.BoothFree: self._booth_free,
            ev.BoothBusy: self._booth_busy,
            ev.BoothFaulty: self._booth_faulty,
            ev.BoothHealthy: self._booth_healthy,
            ev.TicketClaimed: self._ticket_claimed,
            ev.HubOnline: self._hub_online,
            ev.HubOffline: self._hub_offline,
            ev.HubCapacity: self._hub_capacity,
            ev.OfficerFocus: self._officer_focus,
            ev.Transfer: self._transfer,
            ev.Park: self._park,
            ev.Resume: self._resume,
            ev.SessionEnded: self._session_ended,
        }

    # --- entry point ----------------------------------------------------------------------

    def handle(self, event: ev.Event, now: float) -> list[de.Decision]:
        """Apply ``event`` at time ``now``; return what must be done, in order.

        Raises a :class:`QueueError` (and changes nothing) if the event does not fit the state.
        """
        if not isinstance(now, int | float) or now != now or now in (float("inf"), float("-inf")):
            raise InvalidEvent(f"now must be a finite number of seconds, got {now!r}")
        if now < self.now:
            raise InvalidEvent(f"time went backwards: {now} < {self.now}")
        handler = self._handlers.get(type(event))
        if handler is None:
            raise InvalidEvent(f"not a queue event: {type(event).__name__}")
        out: Decisions = []
        handler(event, float(now), out)
        self.now = float(now)
        self._fill(self.now, out)
        return out

    # --- queries (pure) -------------------------------------------------------------------

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
            forecast.Queued(t.id, t.order_key(), self._eligible_from(t)) for t in self.waiting()
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
                    if b.hub is not None and t.paired_at is not None and not self._spilled(t):
                        times.append(t.paired_at + r.spill_after_s)
                    appt = self.appointments.get(t.appointment)
                    if appt is not None and not appt.alerted:
                        times.append(self._due(t) + r.sla_late_s - r.risk_margin_s)
        for a in self.appointments.values():
            if a.state is AppointmentState.BOOKED:
                times.append(a.slot + r.check_in_late_s)
                if not a.alerted:
                    times.append(a.slot)
        if self._waiting and any(b.can_call() for b in self.booths.values()):
            for tid in self._waiting:
                t = self.tickets[tid]
                if t.appointment is not None:
                    times.append(self._eligible_from(t))
        if self._waiting or any(
            a.state is AppointmentState.BOOKED for a in self.appointments.values()
        ):
            times.append(self.next_forecast)
        later = [t for t in times if t > self.last_tick]
        return min(later) if later else None

    # --- time -----------------------------------------------------------------------------

    def _tick(self, event: ev.Tick, now: float, out: Decisions) -> None:
        r = self.rules
        self.last_tick = now
        today = day_key(now, r.utc_offset_min)
        if today != self.day:
            self._prune(now)
            self.day = today
        for b in sorted(self.booths.values(), key=lambda b: b.id):
            if b.state is not BoothState.CALLING or b.ticket is None or b.called_at is None:
                continue
            t = self.tickets[b.ticket]
            if now < b.called_at + r.claim_timeout_s * (t.recalls + 1):
                continue
            if t.recalls < r.recalls:
                t.recalls += 1
                t.note(now, "recall", b.id)
                out.append(
                    de.Recall(
                        ticket=t.id, number=t.number, booth=b.id, label=b.label, attempt=t.recalls
                    )
                )
            else:
                t.state = TicketState.NO_SHOW
                t.ended_at = now
                t.booth = None
                t.note(now, "no_show", b.id)
                self._sample("cycle", now - b.called_at)
                self._empty(b, now, BoothState.FREE)
                out.append(de.NoShow(ticket=t.id, number=t.number, booth=b.id))
        for a in sorted(self.appointments.values(), key=lambda a: (a.slot, a.code)):
            if a.state is not AppointmentState.BOOKED:
                continue
            if now > a.slot + r.check_in_late_s:
                a.state = AppointmentState.MISSED
                out.append(de.AppointmentMissed(code=a.code, slot=a.slot))
            elif now >= a.slot and not a.alerted:
                a.alerted = True
                out.append(
                    de.AppointmentAtRisk(
                        code=a.code,
                        ticket=None,
                        slot=a.slot,
                        predicted_start=now,
                        reason=de.RiskReason.NOT_CHECKED_IN,
                    )
                )
        self._watch_sessions(now, out)
        if now >= self.next_forecast:
            self.next_forecast = now + r.forecast_interval_s
            self._forecast_risks(now, out)

    def _forecast_risks(self, now: float, out: Decisions) -> None:
        """Alert appointments whose predicted start is late, and let them be called at once."""
        r = self.rules
        times = self.expected_call_times(now)
        walk = forecast.mean(self.samples["walk"], r.default_walk_s)
        attend = forecast.mean(self.samples["attention_delay"], 0.0)
        for tid, at in sorted(times.items(), key=lambda kv: kv[1]):
            t = self.tickets.get(tid)
            if t is None or t.appointment is None:
                continue
            appt = self.appointments[t.appointment]
            predicted = at + walk + attend
            if predicted - self._due(t) > r.sla_late_s - r.risk_margin_s and not appt.alerted:
                appt.alerted = True
                t.at_risk = True
                t.note(now, "at_risk", f"predicted start {predicted:.0f}")
                out.append(
                    de.AppointmentAtRisk(
                        code=appt.code,
                        ticket=t.id,
                        slot=t.slot or 0.0,
                        predicted_start=predicted,
                        reason=de.RiskReason.PREDICTED_LATE,
                    )
                )

    def _watch_sessions(self, now: float, out: Decisions) -> None:
        """Appointments in a booth: alert if not attended in time; spill to an idle officer."""
        r = self.rules
        for b in sorted(self.booths.values(), key=lambda b: b.id):
            if b.state is not BoothState.OCCUPIED or b.ticket is None:
                continue
            t = self.tickets[b.ticket]
            if t.appointment is None or t.started_at is not None:
                continue
            appt = self.appointments[t.appointment]
            if (
                b.hub is not None
                and t.paired_at is not None
                and not self._spilled(t)
                and now - t.paired_at >= r.spill_after_s
                and self.hubs[b.hub].focus != b.id
            ):
                current = self.hubs[b.hub]
                target = choose_hub(
                    self.hubs.values(), t.service, exclude=current.id, idle_only=True
                )
                if target is not None and len(target.booths) < len(current.booths):
                    self._unlink(b, current)
                    t.note(now, "spill", f"{current.id} -> {target.id}")
                    self._pair(b, t, target, now, out, de.UnpairReason.SPILL, current.id)
            if not appt.alerted and now - self._due(t) >= r.sla_late_s - r.risk_margin_s:
                appt.alerted = True
                reason = de.RiskReason.NOT_ATTENDED if b.hub else de.RiskReason.NO_OFFICER
                out.append(
                    de.AppointmentAtRisk(
                        code=appt.code,
                        ticket=t.id,
                        slot=appt.slot,
                        predicted_start=now,
                        reason=reason,
                    )
                )

    # --- kiosk ----------------------------------------------------------------------------

    def _ticket_issued(self, event: ev.TicketIssued, now: float, out: Decisions) -> None:
        letter = self.rules.services.get(event.service)
        if letter is None:
            raise UnknownService(
                f"service {event.service!r} unknown; known: {', '.join(self.rules.services)}"
            )
        t = self._new_ticket(letter, event.service, event.priority, event.token, now)
        waits = self.expected_waits(now)
        ahead = sum(1 for x, w in waits.items() if x != t.id and w < waits.get(t.id, 0.0))
        out.append(
            de.TicketIssuedDecision(
                ticket=t.id,
                number=t.number,
                service=t.service,
                priority=t.priority.value,
                qr=ticket_qr(self.branch, t.id, t.token),
                ahead=ahead,
                expected_wait_s=round(waits.get(t.id, 0.0), 1),
            )
        )

    def _new_ticket(
        self, letter: str, service: str, priority: Priority, token: str, now: float
    ) -> Ticket:
        day = day_key(now, self.rules.utc_offset_min)
        key = f"{day}:{letter}"
        n = self.counters.get(key, 0) + 1
        if n > limits.MAX_TICKETS_PER_SERVICE_DAY:
            raise DailyLimitReached(
                f"all {limits.MAX_TICKETS_PER_SERVICE_DAY} numbers of "
                f"series {letter} are used today"
            )
        self.counters[key] = n
        self.seq += 1
        num = number(letter, n)
        t = Ticket(
            id=f"{day}-{num}",
            number=num,
            service=service,
            priority=priority,
            issued_at=now,
            seq=self.seq,
            token=token,
        )
        t.note(now, "issued", priority.value)
        self.tickets[t.id] = t
        self._waiting.add(t.id)
        return t

    def _appointments_booked(
        self, event: ev.AppointmentsBooked, now: float, out: Decisions
    ) -> None:
        fresh: list[Appointment] = []
        seen: set[str] = set()
        for i, b in enumerate(event.bookings):
            where = f"booking {i + 1}"
            try:
                code, service, slot = b["code"], b["service"], b["slot"]
                branch, name = b.get("branch", self.branch), b.get("name", "")
            except KeyError as exc:
                raise InvalidEvent(f"{where}: missing {exc.args[0]!r}") from None
            extra = sorted(set(b) - {"code", "service", "slot", "branch", "name"})
            if extra:
                raise InvalidEvent(f"{where}: unknown field(s) {', '.join(map(str, extra))}")
            if not isinstance(code, str) or not is_booking_code(code):
                raise InvalidEvent(f"{where}: code {str(code)[:40]!r} is not a booking code")
            if code in seen:
                raise InvalidEvent(f"{where}: code {code!r} appears twice")
            seen.add(code)
            if service not in self.rules.services:
                raise UnknownService(f"{where}: service {str(service)[:40]!r} unknown")
            if isinstance(slot, bool) or not isinstance(slot, int | float) or slot != slot:
                raise InvalidEvent(f"{where}: slot must be seconds since the epoch")
            if branch != self.branch:
                raise InvalidEvent(
                    f"{where}: booked for branch {branch!r}, this is {self.branch!r}"
                )
            if not isinstance(name, str) or len(name) > 80:
                raise InvalidEvent(f"{where}: name must be text of at most 80 characters")
            old = self.appointments.get(code)
            new = Appointment(code, service, float(slot), branch, name)
            if old is not None:
                if old.booking() == new.booking():
                    continue
                if old.state is not AppointmentState.BOOKED:
                    raise InvalidTransition(
                        f"{where}: booking {code} is {old.state.value}; it cannot be changed"
                    )
            fresh.append(new)
        for a in fresh:
            self.appointments[a.code] = a
        if fresh:
            out.append(de.Booked(codes=tuple(a.code for a in fresh)))

    def _checked_in(self, event: ev.AppointmentCheckedIn, now: float, out: Decisions) -> None:
        appt = self.appointments.get(event.code)
        if appt is None:
            raise UnknownAppointment(f"no booking {event.code!r} at branch {self.branch}")
        booth = self._booth(event.booth) if event.booth is not None else None
        if booth is not None and self._booking_at_booth(appt, booth, now, out):
            return
        refuse_check_in(appt, now, self.rules)
        t = self._new_ticket(
            self.rules.appointment_letter, appt.service, Priority.NONE, event.token, now
        )
        t.appointment, t.slot = appt.code, appt.slot
        t.note(now, "checked_in", event.booth or "kiosk")
        appt.state, appt.ticket, appt.checked_in_at = AppointmentState.CHECKED_IN, t.id, now
        waits = self.expected_waits(now)
        out.append(
            de.CheckedIn(
                code=appt.code,
                ticket=t.id,
                number=t.number,
                service=t.service,
                slot=appt.slot,
                qr=ticket_qr(self.branch, t.id, t.token),
                expected_wait_s=round(waits.get(t.id, 0.0), 1),
            )
        )
        if booth is not None and booth.can_call():
            best = self._callable(now)
            if best and best[0] is t:  # it is this booth's next ticket anyway: sit down now
                self._call(booth, t, now, out)
                self._claim(booth, t, now, out)

    def _booking_at_booth(self, appt: Appointment, b: Booth, now: float, out: Decisions) -> bool:
        """A booking checked in earlier, scanned again at a booth: its ticket's claim.

        The participant keeps one code (the booking's QR) from the door to the booth: once
        its ticket is called to this booth, the booking code claims it like the ticket's
        own QR (decisions as for a claim; the device is answered ``Ok``). Called elsewhere:
        the same refusal as that QR (``WrongBooth``). Not called yet, or no longer: False,
        and the check-in refuses it as used.
        """
        if appt.state is not AppointmentState.CHECKED_IN or appt.ticket is None:
            return False
        t = self.tickets.get(appt.ticket)
        if t is None:
            return False
        if t.state is TicketState.CALLED and t.booth != b.id:
            label = self.booths[t.booth].label if t.booth in self.booths else str(t.booth)
            raise WrongBooth(f"ticket {t.number} was called to {label}", label)
        if t.booth != b.id or t.state not in (TicketState.CALLED, TicketState.CLAIMED):
            return False
        if t.state is TicketState.CALLED:
            self._claim(b, t, now, out)
        return True  # claimed here (or scanned twice): no new ticket, so no CheckedIn

    # --- booths ---------------------------------------------------------------------------

    def _booth(self, booth_id: str) -> Booth:
        b = self.booths.get(booth_id)
        if b is None:
            raise UnknownBooth(f"no booth {booth_id!r}")
        return b

    def _booth_added(self, event: ev.BoothAdded, now: float, out: Decisions) -> None:
        label = event.label or event.booth
        if event.booth in self.booths:
            self.booths[event.booth].label = label
            return
        self.booths[event.booth] = Booth(id=event.booth, label=label, free_since=now)

    def _booth_free(self, event: ev.BoothFree, now: float, out: Decisions) -> None:
        b = self._booth(event.booth)
        if b.state not in (BoothState.FREE, BoothState.BUSY):
            raise InvalidTransition(f"booth {b.id} is {b.state.value}; it cannot be free now")
        if b.state is BoothState.BUSY:
            if b.called_at is not None:
                self._sample("cycle", now - b.called_at)
            b.state, b.called_at, b.free_since = BoothState.FREE, None, now

    def _booth_busy(self, event: ev.BoothBusy, now: float, out: Decisions) -> None:
        b = self._booth(event.booth)
        if b.state not in (BoothState.FREE, BoothState.BUSY):
            raise InvalidTransition(f"booth {b.id} is {b.state.value}; it cannot be busy now")
        b.state = BoothState.BUSY

    def _booth_faulty(self, event: ev.BoothFaulty, now: float, out: Decisions) -> None:
        b = self._booth(event.booth)
        b.faulty, b.fault = True, event.reason
        if b.ticket is None:
            return
        t = self.tickets[b.ticket]
        if b.hub is not None:
            hub = self.hubs[b.hub]
            self._unlink(b, hub)
            out.append(
                de.Unpair(booth=b.id, hub=hub.id, ticket=t.id, reason=de.UnpairReason.BOOTH_FAULT)
            )
        # Back in the queue, first in line, its officer remembered (t.hub) for the next pairing.
        t.state, t.booth, t.moved, t.recalls = TicketState.WAITING, None, True, 0
        t.note(now, "moved", f"{b.id}: {event.reason}")
        self._waiting.add(t.id)
        self._empty(b, now, BoothState.FREE)
        out.append(de.Move(ticket=t.id, number=t.number, from_booth=b.id))

    def _booth_healthy(self, event: ev.BoothHealthy, now: float, out: Decisions) -> None:
        b = self._booth(event.booth)
        b.faulty, b.fault = False, ""

    def _ticket_claimed(self, event: ev.TicketClaimed, now: float, out: Decisions) -> None:
        b = self._booth(event.booth)
        ticket_id, token = parse_ticket_qr(event.qr, self.branch)
        t = self.tickets.get(ticket_id)
        if t is None:
            raise UnknownTicket(f"no ticket {ticket_id} at branch {self.branch}")
        if t.token != token:
            raise InvalidQr(f"ticket {t.number}: the QR does not match the printed ticket")
        if t.state is TicketState.CLAIMED and t.booth == b.id:
            return  # scanned twice
        if t.state is TicketState.CALLED and t.booth != b.id:
            label = self.booths[t.booth].label if t.booth in self.booths else str(t.booth)
            raise WrongBooth(f"ticket {t.number} was called to {label}", label)
        if t.state is not TicketState.CALLED:
            raise NotCalled(f"ticket {t.number} is {t.state.value}, not called to a booth")
        self._claim(b, t, now, out)

    # --- hubs -----------------------------------------------------------------------------

    def _hub(self, hub_id: str) -> Hub:
        h = self.hubs.get(hub_id)
        if h is None:
            raise UnknownHub(f"no hub {hub_id!r}")
        return h

    def _hub_online(self, event: ev.HubOnline, now: float, out: Decisions) -> None:
        unknown = [s for s in event.skills if s not in self.rules.services]
        if unknown:
            raise UnknownService(f"hub {event.hub}: unknown service type(s) {', '.join(unknown)}")
        h = self.hubs.get(event.hub)
        if h is None:
            h = self.hubs[event.hub] = Hub(id=event.hub, skills=[], capacity=0)
        h.skills, h.capacity, h.officer, h.online = (
            list(event.skills),
            event.capacity,
            event.officer,
            True,
        )

    def _hub_offline(self, event: ev.HubOffline, now: float, out: Decisions) -> None:
        h = self._hub(event.hub)
        if not h.online:
            return
        h.online, h.focus, h.focus_since = False, None, None
        for booth_id in list(h.booths):
            b = self.booths[booth_id]
            t = self.tickets[b.ticket] if b.ticket else None
            self._unlink(b, h)
            if t is None:  # pragma: no cover - invariant: a paired booth has a ticket
                continue
            t.note(now, "hub_offline", h.id)
            target = choose_hub(self.hubs.values(), t.service, exclude=h.id)
            if target is not None:
                self._pair(b, t, target, now, out, de.UnpairReason.HUB_OFFLINE, h.id)
            else:
                out.append(
                    de.Unpair(booth=b.id, hub=h.id, ticket=t.id, reason=de.UnpairReason.HUB_OFFLINE)
                )
                b.waiting_hub_since = now
                out.append(de.WaitForHub(booth=b.id, ticket=t.id))

    def _hub_capacity(self, event: ev.HubCapacity, now: float, out: Decisions) -> None:
        self._hub(event.hub).capacity = event.capacity

    def _officer_focus(self, event: ev.OfficerFocus, now: float, out: Decisions) -> None:
        h = self._hub(event.hub)
        if not h.online:
            raise InvalidTransition(f"hub {h.id} is offline")
        if event.booth is not None:
            self._booth(event.booth)
            if event.booth not in h.booths:
                raise InvalidTransition(f"booth {event.booth} is not paired with hub {h.id}")
        h.focus, h.focus_since = event.booth, now
        if event.booth is not None:
            t = self.tickets[self.booths[event.booth].ticket or ""]
            if t.started_at is None:
                t.started_at = now
                t.note(now, "started", h.id)
                if t.paired_at is not None:
                    self._sample("attention_delay", now - t.paired_at)

    def _occupied(self, booth_id: str) -> tuple[Booth, Ticket]:
        b = self._booth(booth_id)
        if b.state is not BoothState.OCCUPIED or b.ticket is None:
            raise InvalidTransition(f"booth {b.id} has no session ({b.state.value})")
        return b, self.tickets[b.ticket]

    def _transfer(self, event: ev.Transfer, now: float, out: Decisions) -> None:
        b, t = self._occupied(event.booth)
        if b.hub is None:
            raise InvalidTransition(f"booth {b.id} is not with an officer")
        current = self.hubs[b.hub]
        if event.to_hub is not None:
            target = self._hub(event.to_hub)
            if target is current:
                raise InvalidTransition(f"booth {b.id} is already with hub {target.id}")
            if not target.serves(t.service):
                raise HubFull(f"hub {target.id} does not handle {t.service} or is offline")
            if not target.has_room():
                raise HubFull(f"hub {target.id} has no free slot")
        else:
            found = choose_hub(self.hubs.values(), t.service, exclude=current.id)
            if found is None:
                raise HubFull(f"no other officer handling {t.service} has a free slot")
            target = found
        self._unlink(b, current)
        t.note(now, "transfer", f"{current.id} -> {target.id}")
        self._pair(b, t, target, now, out, de.UnpairReason.TRANSFER, current.id)

    def _park(self, event: ev.Park, now: float, out: Decisions) -> None:
        b, t = self._occupied(event.booth)
        if b.held:
            return
        if b.hub is not None:
            h = self.hubs[b.hub]
            self._unlink(b, h)
            out.append(de.Unpair(booth=b.id, hub=h.id, ticket=t.id, reason=de.UnpairReason.PARK))
        b.held, b.waiting_hub_since = True, None
        t.note(now, "parked", b.id)

    def _resume(self, event: ev.Resume, now: float, out: Decisions) -> None:
        b, t = self._occupied(event.booth)
        if not b.held:
            raise InvalidTransition(f"booth {b.id} is not parked")
        b.held = False
        t.note(now, "resumed", b.id)
        self._pair_or_wait(b, t, now, out)

    def _session_ended(self, event: ev.SessionEnded, now: float, out: Decisions) -> None:
        b, t = self._occupied(event.booth)
        hub_id = b.hub
        if b.hub is not None:
            self._unlink(b, self.hubs[b.hub])
        t.state, t.ended_at, t.outcome, t.booth = TicketState.DONE, now, event.outcome, None
        t.note(now, "ended", event.outcome)
        self._empty(b, now, BoothState.BUSY, keep_cycle=True)
        out.append(
            de.SessionClosed(
                booth=b.id,
                ticket=t.id,
                hub=hub_id,
                outcome=event.outcome,
                handle_s=round(now - (t.claimed_at or now), 3),
            )
        )

    # --- moves ----------------------------------------------------------------------------

    def _call(self, b: Booth, t: Ticket, now: float, out: Decisions) -> None:
        self._waiting.discard(t.id)
        t.state, t.booth, t.called_at, t.recalls = TicketState.CALLED, b.id, now, 0
        t.note(now, "called", b.id)
        b.state, b.ticket, b.called_at = BoothState.CALLING, t.id, now
        out.append(de.Call(ticket=t.id, number=t.number, booth=b.id, label=b.label, moved=t.moved))

    def _claim(self, b: Booth, t: Ticket, now: float, out: Decisions) -> None:
        if t.called_at is not None:
            self._sample("walk", now - t.called_at)
        t.state, t.claimed_at, t.moved = TicketState.CLAIMED, now, False
        t.note(now, "claimed", b.id)
        b.state = BoothState.OCCUPIED
        out.append(
            de.Claimed(
                ticket=t.id,
                number=t.number,
                booth=b.id,
                service=t.service,
                appointment=t.appointment,
            )
        )
        self._pair_or_wait(b, t, now, out)

    def _pair_or_wait(self, b: Booth, t: Ticket, now: float, out: Decisions) -> None:
        hub = choose_hub(self.hubs.values(), t.service, prefer=t.hub)
        if hub is not None:
            self._pair(b, t, hub, now, out)
        else:
            b.waiting_hub_since = now
            out.append(de.WaitForHub(booth=b.id, ticket=t.id))

    def _pair(
        self,
        b: Booth,
        t: Ticket,
        hub: Hub,
        now: float,
        out: Decisions,
        reason: de.UnpairReason | None = None,
        from_hub: str | None = None,
    ) -> None:
        hub.booths.append(b.id)
        hub.last_paired_at = now
        b.hub, b.waiting_hub_since = hub.id, None
        t.hub = hub.id
        if t.paired_at is None:
            t.paired_at = now
        t.note(now, "paired", hub.id)
        if reason is not None and from_hub is not None:
            out.append(
                de.Repair(booth=b.id, hub=hub.id, from_hub=from_hub, ticket=t.id, reason=reason)
            )
        else:
            out.append(de.Pair(booth=b.id, hub=hub.id, ticket=t.id))

    def _unlink(self, b: Booth, hub: Hub) -> None:
        if b.id in hub.booths:
            hub.booths.remove(b.id)
        if hub.focus == b.id:
            hub.focus, hub.focus_since = None, None
        b.hub = None

    def _empty(self, b: Booth, now: float, state: BoothState, keep_cycle: bool = False) -> None:
        b.state, b.ticket, b.hub, b.held, b.waiting_hub_since = state, None, None, False, None
        if not keep_cycle:
            b.called_at = None
        if state is BoothState.FREE:
            b.free_since = now

    def _fill(self, now: float, out: Decisions) -> None:
        """Pair booths waiting for an officer, then let free booths call."""
        waiting_booths = sorted(
            (
                b
                for b in self.booths.values()
                if b.state is BoothState.OCCUPIED and b.hub is None and not b.held
            ),
            key=lambda b: (self._booth_rank(b), b.waiting_hub_since or 0.0, b.id),
        )
        for b in waiting_booths:
            t = self.tickets[b.ticket or ""]
            hub = choose_hub(self.hubs.values(), t.service, prefer=t.hub)
            if hub is not None:
                self._pair(b, t, hub, now, out)
        if not self._waiting:
            return  # (checked first: at a big branch, listing free booths is the cost)
        free = sorted(
            (b for b in self.booths.values() if b.can_call()), key=lambda b: (b.free_since, b.id)
        )
        if not free:
            return
        for b, t in zip(free, self._callable(now), strict=False):
            self._call(b, t, now, out)

    def _booth_rank(self, b: Booth) -> int:
        t = self.tickets[b.ticket or ""]
        return 0 if t.appointment is not None else 1

    def _callable(self, now: float) -> list[Ticket]:
        """Tickets a free booth may call now, best first."""
        served = {s for h in self.hubs.values() if h.online for s in h.skills}
        ready = [
            self.tickets[x]
            for x in self._waiting
            if self.tickets[x].service in served and self._eligible_from(self.tickets[x]) <= now
        ]
        ready.sort(key=Ticket.order_key)
        return ready

    def _eligible_from(self, t: Ticket) -> float:
        if t.appointment is None or t.moved or t.at_risk or t.slot is None:
            return t.issued_at
        return t.slot - self.rules.call_early_s

    def _due(self, t: Ticket) -> float:
        """When an appointment should start: its slot, or its check-in if that came later."""
        appt = self.appointments.get(t.appointment or "")
        slot = t.slot or 0.0
        return max(slot, appt.checked_in_at or slot) if appt else slot

    def _spilled(self, t: Ticket) -> bool:
        return any(what == "spill" for _, what, _ in t.history)

    def _sample(self, kind: str, value: float) -> None:
        s = self.samples[kind]
        s.append(round(max(0.0, value), 3))
        if len(s) > limits.RECENT_SAMPLES:
            del s[0]

    def _prune(self, now: float) -> None:
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

    # --- persistence ----------------------------------------------------------------------

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
    def from_dict(cls, d: Any, rules: QueueRules) -> Scheduler:
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
