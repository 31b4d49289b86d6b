"""Services nobody signed in can serve: waiting tickets the queue would otherwise hold in
silence (pure; the time is passed in).

A ticket is only called when some online officer handles its service (``_callable`` in
:mod:`signaling.queue.scheduler`), so a JP ticket at a branch whose signed-in officers
all do JHT would wait without end and without a word. :func:`unserved_services` names
those services, with how many tickets wait for each and since when, for the branch
manager's alerts (``"unserved_services"`` in ``GET /api/queue``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from signaling.queue.routing import Hub
from signaling.queue.tickets import Ticket


def served(hubs: Iterable[Hub]) -> set[str]:
    """Services some online hub with a signed-in officer handles."""
    return {s for h in hubs if h.online and h.officer for s in h.skills}


def unserved_services(waiting: Iterable[Ticket], hubs: Iterable[Hub],
                      now: float) -> list[dict[str, Any]]:
    """``[{"service", "count", "oldest_wait_s"}]`` for each service of a waiting ticket that
    no signed-in officer serves, the longest wait first."""
    can = served(hubs)
    found: dict[str, tuple[int, float]] = {}
    for t in waiting:
        if t.service in can:
            continue
        count, oldest = found.get(t.service, (0, t.issued_at))
        found[t.service] = (count + 1, min(oldest, t.issued_at))
    return sorted(
        ({"service": s, "count": n, "oldest_wait_s": round(max(0.0, now - at), 1)}
         for s, (n, at) in found.items()),
        key=lambda x: (-x["oldest_wait_s"], x["service"]))
