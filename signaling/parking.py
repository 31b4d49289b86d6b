"""Parked cases: who waits at which booth for which officer, and since when (pure).

Parking (``Park`` from the officer's hub) frees the officer's slot while the participant
stays seated: the queue holds the booth (``Booth.held``), releases the media pairing (the
booth's screen says the officer will come back), and keeps the ticket's officer
(``Ticket.hub``) so that ``Resume`` pairs the booth with that officer again. This module
reads the queue's state for the views: the hub's console (``GET /api/cases/hub``) keeps a
tile for every case its officer parked, with its timer, and a case parked longer than
:data:`signaling.limits.PARKED_TOO_LONG_S` is flagged ``overdue`` there and in
``GET /api/queue``.
"""

from __future__ import annotations

from typing import Any

from signaling.limits import PARKED_TOO_LONG_S
from signaling.queue.scheduler import Scheduler


def parked_since(history: list[tuple[float, str, str]]) -> float | None:
    """When the ticket was last parked (its history's last ``parked`` entry)."""
    for at, what, _detail in reversed(history):
        if what == "parked":
            return at
    return None


def parked_cases(scheduler: Scheduler, now: float, *, hub: str | None = None,
                 limit_s: float = PARKED_TOO_LONG_S) -> dict[str, dict[str, Any]]:
    """``{booth: {ticket, number, service, hub, since, parked_s, limit_s, overdue}}`` for
    every parked booth (of ``hub``'s officer only, if given)."""
    out: dict[str, dict[str, Any]] = {}
    for b in sorted(scheduler.booths.values(), key=lambda b: b.id):
        if not b.held or b.ticket is None:
            continue
        t = scheduler.tickets[b.ticket]
        if hub is not None and t.hub != hub:
            continue
        since = parked_since(t.history)
        waited = 0.0 if since is None else max(0.0, now - since)
        out[b.id] = {"ticket": t.id, "number": t.number, "service": t.service,
                     "hub": t.hub, "since": since, "parked_s": round(waited, 1),
                     "limit_s": limit_s, "overdue": waited > limit_s}
    return out
