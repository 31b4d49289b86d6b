"""The queue's booth events: a booth added, free, busy, faulty or healthy again, and a ticket
claimed at a booth. No I/O."""

from __future__ import annotations

from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import moves
from signaling.queue.booths import Booth, BoothState
from signaling.queue.errors import (
    InvalidQr,
    InvalidTransition,
    NotCalled,
    UnknownTicket,
    WrongBooth,
)
from signaling.queue.state import Decisions, QueueState
from signaling.queue.tickets import (
    TicketState,
    parse_ticket_qr,
)


def booth_added(qs: QueueState, event: ev.BoothAdded, now: float, out: Decisions) -> None:
    label = event.label or event.booth
    if event.booth in qs.booths:
        qs.booths[event.booth].label = label
        return
    qs.booths[event.booth] = Booth(id=event.booth, label=label, free_since=now)


def booth_free(qs: QueueState, event: ev.BoothFree, now: float, out: Decisions) -> None:
    b = qs.booth(event.booth)
    if b.state not in (BoothState.FREE, BoothState.BUSY):
        raise InvalidTransition(f"booth {b.id} is {b.state.value}; it cannot be free now")
    if b.state is BoothState.BUSY:
        if b.called_at is not None:
            qs.sample("cycle", now - b.called_at)
        b.state, b.called_at, b.free_since = BoothState.FREE, None, now


def booth_busy(qs: QueueState, event: ev.BoothBusy, now: float, out: Decisions) -> None:
    b = qs.booth(event.booth)
    if b.state not in (BoothState.FREE, BoothState.BUSY):
        raise InvalidTransition(f"booth {b.id} is {b.state.value}; it cannot be busy now")
    b.state = BoothState.BUSY


def booth_faulty(qs: QueueState, event: ev.BoothFaulty, now: float, out: Decisions) -> None:
    b = qs.booth(event.booth)
    b.faulty, b.fault = True, event.reason
    if b.ticket is None:
        return
    t = qs.tickets[b.ticket]
    if b.hub is not None:
        hub = qs.hubs[b.hub]
        moves.unlink(qs, b, hub)
        out.append(
            de.Unpair(booth=b.id, hub=hub.id, ticket=t.id, reason=de.UnpairReason.BOOTH_FAULT)
        )
    # Back in the queue, first in line, its officer remembered (t.hub) for the next pairing.
    t.state, t.booth, t.moved, t.recalls = TicketState.WAITING, None, True, 0
    t.note(now, "moved", f"{b.id}: {event.reason}")
    qs._waiting.add(t.id)
    moves.empty(qs, b, now, BoothState.FREE)
    out.append(de.Move(ticket=t.id, number=t.number, from_booth=b.id))


def booth_healthy(qs: QueueState, event: ev.BoothHealthy, now: float, out: Decisions) -> None:
    b = qs.booth(event.booth)
    b.faulty, b.fault = False, ""


def ticket_claimed(qs: QueueState, event: ev.TicketClaimed, now: float, out: Decisions) -> None:
    b = qs.booth(event.booth)
    ticket_id, token = parse_ticket_qr(event.qr, qs.branch)
    t = qs.tickets.get(ticket_id)
    if t is None:
        raise UnknownTicket(f"no ticket {ticket_id} at branch {qs.branch}")
    if t.token != token:
        raise InvalidQr(f"ticket {t.number}: the QR does not match the printed ticket")
    if t.state is TicketState.CLAIMED and t.booth == b.id:
        return  # scanned twice
    if t.state is TicketState.CALLED and t.booth != b.id:
        label = qs.booths[t.booth].label if t.booth in qs.booths else str(t.booth)
        raise WrongBooth(f"ticket {t.number} was called to {label}", label)
    if t.state is not TicketState.CALLED:
        raise NotCalled(f"ticket {t.number} is {t.state.value}, not called to a booth")
    moves.claim(qs, b, t, now, out)
