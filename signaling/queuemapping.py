"""The queue feature's pure mappings between the protocol and the queue core: booth labels,
device health to booth faults, release reasons, the kiosk's priority, what a display is shown,
and the queue's view for the admin API. No I/O."""

from __future__ import annotations

import re
from typing import Any

from bilik.devicehealth import DeviceHealth
from signaling import protocol as p
from signaling.errors import ProtocolError
from signaling.parking import parked_cases
from signaling.protocol import ErrorCode, Priority, ReleaseReason
from signaling.queue import Scheduler
from signaling.queue import decisions as de
from signaling.queue import limits as qlimits
from signaling.queue.unserved import unserved_services

# A booth's part in one of these is fine; any other health marks the booth faulty.
HEALTHY = frozenset({DeviceHealth.OK.value, "absent-ok"})

UNPAIR_REASON = {
    de.UnpairReason.DONE: ReleaseReason.DONE,
    de.UnpairReason.HUB_OFFLINE: ReleaseReason.PEER_OFFLINE,
    de.UnpairReason.BOOTH_FAULT: ReleaseReason.FAULT,
    de.UnpairReason.TRANSFER: ReleaseReason.TRANSFER,
    de.UnpairReason.SPILL: ReleaseReason.TRANSFER,
    de.UnpairReason.PARK: ReleaseReason.PARK,
}


def booth_label(booth_id: str) -> str:
    """``booth-03`` -> ``Bilik 3``: what the queue display shows."""
    match = re.search(r"(\d+)$", booth_id)
    return f"Bilik {int(match.group(1))}" if match else booth_id


def fault_reason(broken: list[str]) -> str:
    """``device: camera, printer`` for a booth's broken parts, cut to what an event holds
    (a status may name 32 parts of 64 characters each)."""
    reason = "device: " + ", ".join(broken)
    if len(reason) <= qlimits.MAX_REASON_CHARS:
        return reason
    return reason[: qlimits.MAX_REASON_CHARS - 1] + "\u2026"


def broken_parts(health: dict[str, str]) -> list[str]:
    """The parts of a booth's status that are not healthy, sorted."""
    return sorted(k for k, v in health.items() if v not in HEALTHY)


def priority(raw: str) -> Priority:
    """The kiosk's priority; a :class:`ProtocolError` naming the choices otherwise."""
    try:
        return Priority(raw)
    except ValueError:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            "priority must be one of " + ", ".join(x.value for x in Priority),
        ) from None


def calls_now(scheduler: Scheduler) -> list[p.Called]:
    """What is being called now: shown by a display that (re)connects."""
    out = []
    for booth in scheduler.booths.values():
        ticket = scheduler.tickets.get(booth.ticket or "")
        if booth.state.value == "calling" and ticket is not None:
            out.append(p.Called(ticket=ticket.id, number=ticket.number, booth=booth.id,
                                label=booth.label, attempt=ticket.recalls))
    return out


def queue_view(s: Scheduler, branch: str, now: float) -> dict[str, Any]:
    """The queue as the admin API shows it (``GET /api/queue``): with the services nobody
    signed in serves (``unserved_services``) and the parked cases (``parked``)."""
    waits = s.expected_waits()
    return {
        "branch": branch,
        "now": s.now,
        "waiting": [
            {"ticket": t.id, "number": t.number, "service": t.service,
             "priority": t.priority.value, "appointment": t.appointment,
             "expected_wait_s": round(waits.get(t.id, 0.0), 1)}
            for t in s.waiting()
        ],
        "booths": {
            b.id: {"label": b.label, "state": b.state.value, "faulty": b.faulty,
                   "fault": b.fault, "ticket": b.ticket, "hub": b.hub, "held": b.held}
            for b in s.booths.values()
        },
        "hubs": {
            h.id: {"online": h.online, "capacity": h.capacity, "skills": list(h.skills),
                   "officer": h.officer}
            for h in s.hubs.values()
        },
        "unserved_services": unserved_services(s.waiting(), s.hubs.values(), now),
        "parked": parked_cases(s, now),
    }
