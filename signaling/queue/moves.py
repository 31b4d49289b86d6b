"""The queue's moves: what every handler does to call, claim, pair, unlink and empty a booth,
and :func:`fill` (after every event: booths waiting for an officer are paired, free booths call).
Functions over one :class:`~signaling.queue.state.QueueState`; no I/O."""

from __future__ import annotations

from signaling.queue import decisions as de
from signaling.queue.booths import Booth, BoothState
from signaling.queue.routing import Hub, choose_hub
from signaling.queue.state import Decisions, QueueState
from signaling.queue.tickets import (
    Ticket,
    TicketState,
)


def call(qs: QueueState, b: Booth, t: Ticket, now: float, out: Decisions) -> None:
    qs._waiting.discard(t.id)
    t.state, t.booth, t.called_at, t.recalls = TicketState.CALLED, b.id, now, 0
    t.note(now, "called", b.id)
    b.state, b.ticket, b.called_at = BoothState.CALLING, t.id, now
    out.append(de.Call(ticket=t.id, number=t.number, booth=b.id, label=b.label, moved=t.moved))


def claim(qs: QueueState, b: Booth, t: Ticket, now: float, out: Decisions) -> None:
    if t.called_at is not None:
        qs.sample("walk", now - t.called_at)
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
    pair_or_wait(qs, b, t, now, out)


def pair_or_wait(qs: QueueState, b: Booth, t: Ticket, now: float, out: Decisions) -> None:
    hub = choose_hub(qs.hubs.values(), t.service, prefer=t.hub)
    if hub is not None:
        pair(qs, b, t, hub, now, out)
    else:
        b.waiting_hub_since = now
        out.append(de.WaitForHub(booth=b.id, ticket=t.id))


def pair(
    qs: QueueState,
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


def unlink(qs: QueueState, b: Booth, hub: Hub) -> None:
    if b.id in hub.booths:
        hub.booths.remove(b.id)
    if hub.focus == b.id:
        hub.focus, hub.focus_since = None, None
    b.hub = None


def empty(
    qs: QueueState, b: Booth, now: float, state: BoothState, keep_cycle: bool = False
) -> None:
    b.state, b.ticket, b.hub, b.held, b.waiting_hub_since = state, None, None, False, None
    if not keep_cycle:
        b.called_at = None
    if state is BoothState.FREE:
        b.free_since = now


def fill(qs: QueueState, now: float, out: Decisions) -> None:
    """Pair booths waiting for an officer, then let free booths call."""
    waiting_booths = sorted(
        (
            b
            for b in qs.booths.values()
            if b.state is BoothState.OCCUPIED and b.hub is None and not b.held
        ),
        key=lambda b: (qs.booth_rank(b), b.waiting_hub_since or 0.0, b.id),
    )
    for b in waiting_booths:
        t = qs.tickets[b.ticket or ""]
        hub = choose_hub(qs.hubs.values(), t.service, prefer=t.hub)
        if hub is not None:
            pair(qs, b, t, hub, now, out)
    if not qs._waiting:
        return  # (checked first: at a big branch, listing free booths is the cost)
    free = sorted(
        (b for b in qs.booths.values() if b.can_call()), key=lambda b: (b.free_since, b.id)
    )
    if not free:
        return
    for b, t in zip(free, qs.callable_tickets(now), strict=False):
        call(qs, b, t, now, out)
