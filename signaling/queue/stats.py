"""Statistics of a branch day, computed from the journal alone (pure).

The journal is what the server records and the simulator keeps: one entry per handled event,
``(now, event, decisions)``. From it: wait (issued -> first called), handle (claimed -> session
closed), officer utilisation (time attending a booth / time online), appointment punctuality
(first officer attention - max(slot, check-in)), no-shows; for the whole day and per local hour.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.tickets import local_hour

Entry = tuple[float, ev.Event, Sequence[de.Decision]]
# The figures that are counted per ticket, so that they also hold per service.
PER_TICKET = ("issued", "claims", "no_shows", "wait", "walk_in_wait", "handle",
              "appointments_started", "appointment_lateness_p95_s", "appointments_within_sla")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class _Ticket:
    issued: float
    appointment: bool
    due: float | None = None  # max(slot, check-in) for bookings
    called: float | None = None
    claimed: float | None = None
    started: float | None = None
    ended: float | None = None
    no_show: bool = False
    service: str = ""


@dataclass
class _Hub:
    online_since: float | None = None
    focus: str | None = None
    focus_since: float | None = None
    online: list[tuple[float, float]] = field(default_factory=list)
    attending: list[tuple[float, float]] = field(default_factory=list)


class _Replay:
    def __init__(self) -> None:
        self.tickets: dict[str, _Ticket] = {}
        self.booth_ticket: dict[str, str] = {}
        self.hubs: dict[str, _Hub] = defaultdict(_Hub)
        self.missed: list[float] = []
        self.risks: list[float] = []
        self.now = 0.0

    def feed(self, at: float, event: ev.Event, decisions: Sequence[de.Decision]) -> None:
        self.now = at
        if isinstance(event, ev.HubOnline):
            h = self.hubs[event.hub]
            if h.online_since is None:
                h.online_since = at
        elif isinstance(event, ev.HubOffline):
            h = self.hubs[event.hub]
            self._unfocus(event.hub, at)
            if h.online_since is not None:
                h.online.append((h.online_since, at))
                h.online_since = None
        elif isinstance(event, ev.OfficerFocus):
            self._unfocus(event.hub, at)
            if event.booth is not None:
                h = self.hubs[event.hub]
                h.focus, h.focus_since = event.booth, at
                t = self.tickets.get(self.booth_ticket.get(event.booth, ""))
                if t is not None and t.started is None:
                    t.started = at
        for d in decisions:
            self._decision(at, d)

    def _unfocus(self, hub: str, at: float, booth: str | None = None) -> None:
        h = self.hubs[hub]
        if h.focus is None or (booth is not None and h.focus != booth):
            return
        if h.focus_since is not None:
            h.attending.append((h.focus_since, at))
        h.focus, h.focus_since = None, None

    def _decision(self, at: float, d: de.Decision) -> None:
        if isinstance(d, de.TicketIssuedDecision):
            self.tickets[d.ticket] = _Ticket(issued=at, appointment=False, service=d.service)
        elif isinstance(d, de.CheckedIn):
            self.tickets[d.ticket] = _Ticket(issued=at, appointment=True, due=max(d.slot, at),
                                             service=d.service)
        elif isinstance(d, de.Call):
            t = self.tickets.get(d.ticket)
            if t is not None and t.called is None:
                t.called = at
        elif isinstance(d, de.Claimed):
            t = self.tickets.get(d.ticket)
            if t is not None and t.claimed is None:
                t.claimed = at
            self.booth_ticket[d.booth] = d.ticket
        elif isinstance(d, de.Move):
            self.booth_ticket.pop(d.from_booth, None)
        elif isinstance(d, de.Unpair):
            self._unfocus(d.hub, at, d.booth)
        elif isinstance(d, de.Repair):
            self._unfocus(d.from_hub, at, d.booth)
        elif isinstance(d, de.SessionClosed):
            if d.hub is not None:
                self._unfocus(d.hub, at, d.booth)
            t = self.tickets.get(d.ticket)
            if t is not None:
                t.ended = at
            self.booth_ticket.pop(d.booth, None)
        elif isinstance(d, de.NoShow):
            t = self.tickets.get(d.ticket)
            if t is not None:
                t.no_show = True
        elif isinstance(d, de.AppointmentMissed):
            self.missed.append(at)
        elif isinstance(d, de.AppointmentAtRisk):
            self.risks.append(at)

    def close(self, until: float) -> None:
        for hub, h in self.hubs.items():
            self._unfocus(hub, until)
            if h.online_since is not None:
                h.online.append((h.online_since, until))
                h.online_since = None


def _seconds_by_hour(intervals: Iterable[tuple[float, float]], offset: int) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for start, end in intervals:
        t = start
        while t < end:
            boundary = (math.floor((t + offset * 60) / 3600) + 1) * 3600 - offset * 60
            stop = min(end, boundary)
            out[local_hour(t, offset)] += stop - t
            t = stop
    return out


def _dist(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_s": _r(percentile(values, 50)),
        "p95_s": _r(percentile(values, 95)),
        "mean_s": _r(sum(values) / len(values)) if values else None,
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def summarise(
    journal: Iterable[Entry],
    *,
    utc_offset_min: int,
    sla_late_s: float = 300.0,
    until: float | None = None,
) -> dict[str, Any]:
    """The day's figures, the same per local hour (keys "08", "09"...) and, for what is
    counted per ticket, per service (keys "jht", "jp"...)."""
    replay = _Replay()
    for at, event, decisions in journal:
        replay.feed(at, event, decisions)
    replay.close(replay.now if until is None else until)
    tickets = replay.tickets.values()
    day = _figures(tickets, replay, utc_offset_min, sla_late_s, hour=None)
    hours = sorted(
        {local_hour(t.issued, utc_offset_min) for t in tickets}
        | {local_hour(s, utc_offset_min) for h in replay.hubs.values() for s, _ in h.online}
    )
    return {
        "day": day,
        "hours": {
            f"{h:02d}": _figures(tickets, replay, utc_offset_min, sla_late_s, hour=h) for h in hours
        },
        "services": {
            service: {
                k: v for k, v in _figures([t for t in tickets if t.service == service], replay,
                                          utc_offset_min, sla_late_s, hour=None).items()
                if k in PER_TICKET
            }
            for service in sorted({t.service for t in tickets})
        },
    }


def _figures(
    tickets: Iterable[_Ticket], replay: _Replay, offset: int, sla: float, hour: int | None
) -> dict[str, Any]:
    def within(at: float | None) -> bool:
        return at is not None and (hour is None or local_hour(at, offset) == hour)

    tickets = list(tickets)
    waits = [t.called - t.issued for t in tickets if t.called is not None and within(t.called)]
    walk_in_waits = [
        t.called - t.issued
        for t in tickets
        if t.called is not None and within(t.called) and not t.appointment
    ]
    handles = [
        t.ended - t.claimed
        for t in tickets
        if t.ended is not None and t.claimed is not None and within(t.ended)
    ]
    lateness = [
        t.started - t.due
        for t in tickets
        if t.appointment and t.started is not None and t.due is not None and within(t.started)
    ]
    online = {k: _seconds_by_hour(h.online, offset) for k, h in replay.hubs.items()}
    attending = {k: _seconds_by_hour(h.attending, offset) for k, h in replay.hubs.items()}

    def total(by_hub: dict[str, dict[int, float]], hub: str) -> float:
        hours = by_hub[hub]
        return sum(hours.values()) if hour is None else hours.get(hour, 0.0)

    per_hub = {
        k: round(total(attending, k) / total(online, k), 3) if total(online, k) else None
        for k in sorted(replay.hubs)
    }
    online_s = sum(total(online, k) for k in replay.hubs)
    attending_s = sum(total(attending, k) for k in replay.hubs)
    claims = sum(1 for t in tickets if within(t.ended))
    return {
        "issued": sum(1 for t in tickets if within(t.issued)),
        "claims": claims,
        "claims_per_officer_hour": round(claims / (online_s / 3600), 2) if online_s else None,
        "no_shows": sum(1 for t in tickets if t.no_show and within(t.called)),
        "bookings_missed": sum(1 for at in replay.missed if within(at)),
        "late_alerts": sum(1 for at in replay.risks if within(at)),
        "wait": _dist(waits),
        "walk_in_wait": _dist(walk_in_waits),
        "handle": _dist(handles),
        "officer_online_h": round(online_s / 3600, 2),
        "officer_utilisation": round(attending_s / online_s, 3) if online_s else None,
        "utilisation_by_hub": per_hub,
        "appointments_started": len(lateness),
        "appointment_lateness_p95_s": _r(percentile([max(0.0, x) for x in lateness], 95)),
        "appointments_within_sla": (
            round(sum(1 for x in lateness if x <= sla) / len(lateness), 4) if lateness else None
        ),
    }
