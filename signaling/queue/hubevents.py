"""The queue's hub events: officer hubs online, offline or with new capacity, the officer's
focus, and the session events (transfer, park, resume, end). No I/O."""

from __future__ import annotations

from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import moves
from signaling.queue.booths import BoothState
from signaling.queue.errors import (
    HubFull,
    InvalidTransition,
    UnknownService,
)
from signaling.queue.routing import Hub, choose_hub
from signaling.queue.state import Decisions, QueueState
from signaling.queue.tickets import (
    TicketState,
)


def hub_online(qs: QueueState, event: ev.HubOnline, now: float, out: Decisions) -> None:
    unknown = [s for s in event.skills if s not in qs.rules.services]
    if unknown:
        raise UnknownService(f"hub {event.hub}: unknown service type(s) {', '.join(unknown)}")
    h = qs.hubs.get(event.hub)
    if h is None:
        h = qs.hubs[event.hub] = Hub(id=event.hub, skills=[], capacity=0)
    h.skills, h.capacity, h.officer, h.online = (
        list(event.skills),
        event.capacity,
        event.officer,
        True,
    )


def hub_offline(qs: QueueState, event: ev.HubOffline, now: float, out: Decisions) -> None:
    h = qs.hub(event.hub)
    if not h.online:
        return
    h.online, h.focus, h.focus_since = False, None, None
    for booth_id in list(h.booths):
        b = qs.booths[booth_id]
        t = qs.tickets[b.ticket] if b.ticket else None
        moves.unlink(qs, b, h)
        if t is None:  # pragma: no cover - invariant: a paired booth has a ticket
            continue
        t.note(now, "hub_offline", h.id)
        target = choose_hub(qs.hubs.values(), t.service, exclude=h.id)
        if target is not None:
            moves.pair(qs, b, t, target, now, out, de.UnpairReason.HUB_OFFLINE, h.id)
        else:
            out.append(
                de.Unpair(booth=b.id, hub=h.id, ticket=t.id, reason=de.UnpairReason.HUB_OFFLINE)
            )
            b.waiting_hub_since = now
            out.append(de.WaitForHub(booth=b.id, ticket=t.id))


def hub_capacity(qs: QueueState, event: ev.HubCapacity, now: float, out: Decisions) -> None:
    qs.hub(event.hub).capacity = event.capacity


def officer_focus(qs: QueueState, event: ev.OfficerFocus, now: float, out: Decisions) -> None:
    h = qs.hub(event.hub)
    if not h.online:
        raise InvalidTransition(f"hub {h.id} is offline")
    if event.booth is not None:
        qs.booth(event.booth)
        if event.booth not in h.booths:
            raise InvalidTransition(f"booth {event.booth} is not paired with hub {h.id}")
    h.focus, h.focus_since = event.booth, now
    if event.booth is not None:
        t = qs.tickets[qs.booths[event.booth].ticket or ""]
        if t.started_at is None:
            t.started_at = now
            t.note(now, "started", h.id)
            if t.paired_at is not None:
                qs.sample("attention_delay", now - t.paired_at)


def transfer(qs: QueueState, event: ev.Transfer, now: float, out: Decisions) -> None:
    b, t = qs.occupied(event.booth)
    if b.hub is None:
        raise InvalidTransition(f"booth {b.id} is not with an officer")
    current = qs.hubs[b.hub]
    if event.to_hub is not None:
        target = qs.hub(event.to_hub)
        if target is current:
            raise InvalidTransition(f"booth {b.id} is already with hub {target.id}")
        if not target.serves(t.service):
            raise HubFull(f"hub {target.id} does not handle {t.service} or is offline")
        if not target.has_room():
            raise HubFull(f"hub {target.id} has no free slot")
    else:
        found = choose_hub(qs.hubs.values(), t.service, exclude=current.id)
        if found is None:
            raise HubFull(f"no other officer handling {t.service} has a free slot")
        target = found
    moves.unlink(qs, b, current)
    t.note(now, "transfer", f"{current.id} -> {target.id}")
    moves.pair(qs, b, t, target, now, out, de.UnpairReason.TRANSFER, current.id)


def park(qs: QueueState, event: ev.Park, now: float, out: Decisions) -> None:
    b, t = qs.occupied(event.booth)
    if b.held:
        return
    if b.hub is not None:
        h = qs.hubs[b.hub]
        moves.unlink(qs, b, h)
        out.append(de.Unpair(booth=b.id, hub=h.id, ticket=t.id, reason=de.UnpairReason.PARK))
    b.held, b.waiting_hub_since = True, None
    t.note(now, "parked", b.id)


def resume(qs: QueueState, event: ev.Resume, now: float, out: Decisions) -> None:
    b, t = qs.occupied(event.booth)
    if not b.held:
        raise InvalidTransition(f"booth {b.id} is not parked")
    b.held = False
    t.note(now, "resumed", b.id)
    target = qs.hubs.get(event.hub) if event.hub is not None else None
    if target is not None and target.serves(t.service) and target.has_room():
        moves.pair(qs, b, t, target, now, out)
    else:
        moves.pair_or_wait(qs, b, t, now, out)


def session_ended(qs: QueueState, event: ev.SessionEnded, now: float, out: Decisions) -> None:
    b, t = qs.occupied(event.booth)
    hub_id = b.hub
    if b.hub is not None:
        moves.unlink(qs, b, qs.hubs[b.hub])
    t.state, t.ended_at, t.outcome, t.booth = TicketState.DONE, now, event.outcome, None
    t.note(now, "ended", event.outcome)
    moves.empty(qs, b, now, BoothState.BUSY, keep_cycle=True)
    out.append(
        de.SessionClosed(
            booth=b.id,
            ticket=t.id,
            hub=hub_id,
            outcome=event.outcome,
            handle_s=round(now - (t.claimed_at or now), 3),
        )
    )
