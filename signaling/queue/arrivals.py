"""The queue's arrivals: tickets from the kiosk, booked appointments, and check-ins (at the
kiosk or at a booth). No I/O."""

from __future__ import annotations

from bilik.codes import is_booking_code
from signaling.protocol_enums import Priority
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import limits, moves
from signaling.queue.appointments import Appointment, AppointmentState, refuse_check_in
from signaling.queue.booths import Booth
from signaling.queue.errors import (
    DailyLimitReached,
    InvalidEvent,
    InvalidTransition,
    UnknownAppointment,
    UnknownService,
    WrongBooth,
)
from signaling.queue.state import Decisions, QueueState
from signaling.queue.tickets import (
    Ticket,
    TicketState,
    day_key,
    number,
    ticket_qr,
)


def ticket_issued(qs: QueueState, event: ev.TicketIssued, now: float, out: Decisions) -> None:
    letter = qs.rules.services.get(event.service)
    if letter is None:
        raise UnknownService(
            f"service {event.service!r} unknown; known: {', '.join(qs.rules.services)}"
        )
    t = new_ticket(qs, letter, event.service, event.priority, event.token, now)
    waits = qs.expected_waits(now)
    ahead = sum(1 for x, w in waits.items() if x != t.id and w < waits.get(t.id, 0.0))
    out.append(
        de.TicketIssuedDecision(
            ticket=t.id,
            number=t.number,
            service=t.service,
            priority=t.priority.value,
            qr=ticket_qr(qs.branch, t.id, t.token),
            ahead=ahead,
            expected_wait_s=round(waits.get(t.id, 0.0), 1),
        )
    )


def new_ticket(
    qs: QueueState, letter: str, service: str, priority: Priority, token: str, now: float
) -> Ticket:
    day = day_key(now, qs.rules.utc_offset_min)
    key = f"{day}:{letter}"
    n = qs.counters.get(key, 0) + 1
    if n > limits.MAX_TICKETS_PER_SERVICE_DAY:
        raise DailyLimitReached(
            f"all {limits.MAX_TICKETS_PER_SERVICE_DAY} numbers of "
            f"series {letter} are used today"
        )
    qs.counters[key] = n
    qs.seq += 1
    num = number(letter, n)
    t = Ticket(
        id=f"{day}-{num}",
        number=num,
        service=service,
        priority=priority,
        issued_at=now,
        seq=qs.seq,
        token=token,
    )
    t.note(now, "issued", priority.value)
    qs.tickets[t.id] = t
    qs._waiting.add(t.id)
    return t


def appointments_booked(
    qs: QueueState, event: ev.AppointmentsBooked, now: float, out: Decisions
) -> None:
    fresh: list[Appointment] = []
    seen: set[str] = set()
    for i, b in enumerate(event.bookings):
        where = f"booking {i + 1}"
        try:
            code, service, slot = b["code"], b["service"], b["slot"]
            branch, name = b.get("branch", qs.branch), b.get("name", "")
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
        if service not in qs.rules.services:
            raise UnknownService(f"{where}: service {str(service)[:40]!r} unknown")
        if isinstance(slot, bool) or not isinstance(slot, int | float) or slot != slot:
            raise InvalidEvent(f"{where}: slot must be seconds since the epoch")
        if branch != qs.branch:
            raise InvalidEvent(
                f"{where}: booked for branch {branch!r}, this is {qs.branch!r}"
            )
        if not isinstance(name, str) or len(name) > 80:
            raise InvalidEvent(f"{where}: name must be text of at most 80 characters")
        old = qs.appointments.get(code)
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
        qs.appointments[a.code] = a
    if fresh:
        out.append(de.Booked(codes=tuple(a.code for a in fresh)))


def checked_in(qs: QueueState, event: ev.AppointmentCheckedIn, now: float, out: Decisions) -> None:
    appt = qs.appointments.get(event.code)
    if appt is None:
        raise UnknownAppointment(f"no booking {event.code!r} at branch {qs.branch}")
    booth = qs.booth(event.booth) if event.booth is not None else None
    if booth is not None and booking_at_booth(qs, appt, booth, now, out):
        return
    refuse_check_in(appt, now, qs.rules)
    t = new_ticket(
        qs,
        qs.rules.appointment_letter, appt.service, Priority.NONE, event.token, now
    )
    t.appointment, t.slot = appt.code, appt.slot
    t.note(now, "checked_in", event.booth or "kiosk")
    appt.state, appt.ticket, appt.checked_in_at = AppointmentState.CHECKED_IN, t.id, now
    waits = qs.expected_waits(now)
    out.append(
        de.CheckedIn(
            code=appt.code,
            ticket=t.id,
            number=t.number,
            service=t.service,
            slot=appt.slot,
            qr=ticket_qr(qs.branch, t.id, t.token),
            expected_wait_s=round(waits.get(t.id, 0.0), 1),
        )
    )
    if booth is not None and booth.can_call():
        best = qs.callable_tickets(now)
        if best and best[0] is t:  # it is this booth's next ticket anyway: sit down now
            moves.call(qs, booth, t, now, out)
            moves.claim(qs, booth, t, now, out)


def booking_at_booth(
    qs: QueueState, appt: Appointment, b: Booth, now: float, out: Decisions
) -> bool:
    """A booking checked in earlier, scanned again at a booth: its ticket's claim.

    The participant keeps one code (the booking's QR) from the door to the booth: once
    its ticket is called to this booth, the booking code claims it like the ticket's
    own QR (decisions as for a claim; the device is answered ``Ok``). Called elsewhere:
    the same refusal as that QR (``WrongBooth``). Not called yet, or no longer: False,
    and the check-in refuses it as used.
    """
    if appt.state is not AppointmentState.CHECKED_IN or appt.ticket is None:
        return False
    t = qs.tickets.get(appt.ticket)
    if t is None:
        return False
    if t.state is TicketState.CALLED and t.booth != b.id:
        label = qs.booths[t.booth].label if t.booth in qs.booths else str(t.booth)
        raise WrongBooth(f"ticket {t.number} was called to {label}", label)
    if t.booth != b.id or t.state not in (TicketState.CALLED, TicketState.CLAIMED):
        return False
    if t.state is TicketState.CALLED:
        moves.claim(qs, b, t, now, out)
    return True  # claimed here (or scanned twice): no new ticket, so no CheckedIn
