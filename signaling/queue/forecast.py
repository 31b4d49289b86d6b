"""Forecast: when will each waiting ticket be called, and so what wait to tell people and which
appointments will start late.

A greedy replay of the calling rule over expected booth free times: whenever a booth is
expected free, it calls the best ticket eligible by then (moved tickets, then bookings by slot
once callable, then priority walk-ins, then the rest), and is busy for one booth cycle (the
recent mean of call -> booth free again). Pure: all inputs are passed in.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

# An overdue session is expected to end within this share of a cycle (it has already run long).
OVERDUE_REMAINING_SHARE = 0.25


@dataclass(frozen=True)
class Queued:
    ticket: str  # ticket id, or "booking:<code>" for a booking not checked in yet
    key: tuple[int, float, int]  # Ticket.order_key()
    eligible_from: float  # earliest time it may be called


def booth_free_at(now: float, cycle_start: float | None, cycle_s: float, busy: bool) -> float:
    """When a booth that started its cycle at ``cycle_start`` is expected free again."""
    if not busy:
        return now
    if cycle_start is None:  # busy without a ticket (cleaning, technician)
        return now + cycle_s * OVERDUE_REMAINING_SHARE
    return max(cycle_start + cycle_s, now + cycle_s * OVERDUE_REMAINING_SHARE)


def call_times(
    now: float, booths_free_at: Sequence[float], queued: Sequence[Queued], cycle_s: float
) -> dict[str, float]:
    """Predicted call time of each queued ticket (absent: no booth to call it)."""
    if not booths_free_at or not queued:
        return {}
    booths = [max(now, t) for t in booths_free_at]
    heapq.heapify(booths)
    always = sorted((q for q in queued if q.key[0] != 1), key=lambda q: q.key, reverse=True)
    booked = sorted((q for q in queued if q.key[0] == 1), key=lambda q: q.key, reverse=True)
    out: dict[str, float] = {}
    while always or booked:
        t = heapq.heappop(booths)
        pick: Queued
        if always and always[-1].key[0] == 0:
            pick = always.pop()
        elif booked and booked[-1].eligible_from <= t:
            pick = booked.pop()
        elif always:
            pick = always.pop()
        else:
            pick = booked.pop()
            t = max(t, pick.eligible_from)
        out[pick.ticket] = t
        heapq.heappush(booths, t + cycle_s)
    return out


def mean(samples: Sequence[float], default: float) -> float:
    return sum(samples) / len(samples) if samples else default
