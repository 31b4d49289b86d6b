"""What the branch manager's page shows, built from the server's own views (pure).

The inputs are what the server already holds: the queue's view (``/api/queue``), the device
registry with each device's last health (``/api/devices``), the pairings, the SLA alerts of the
audit log and the day's figures (``/api/stats``). Nothing here reads a socket or a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bilik.devicehealth import DeviceHealth

# Health words that are not a fault: in service, or a part this device does not have.
FINE = frozenset({"ok", "absent-ok"})


@dataclass(frozen=True)
class PartHealth:
    kind: str  # the part: printer, camera, reader...
    health: DeviceHealth
    detail: str
    fault: bool


def part_health(kind: str, word: str) -> PartHealth:
    """``"error: paper out"`` -> (ERROR, "paper out"); a word outside the vocabulary is an
    error with the word as its detail (a device's fault is never hidden for its spelling)."""
    word = str(word).strip()
    fault = word not in FINE
    if word == "absent-ok":
        return PartHealth(kind, DeviceHealth.ABSENT, "not fitted", False)
    head, _, rest = word.partition(":")
    name = head.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return PartHealth(kind, DeviceHealth(name), rest.strip(), fault)
    except ValueError:
        return PartHealth(kind, DeviceHealth.ERROR, word, True)


def parts(health: Mapping[str, str]) -> list[PartHealth]:
    return [part_health(k, v) for k, v in sorted(health.items())]


def _parts_json(health: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"kind": p.kind, "health": p.health.value, "detail": p.detail, "fault": p.fault}
            for p in parts(health)]


def queue_by_service(view: Mapping[str, Any], services: Mapping[str, str]
                     ) -> list[dict[str, Any]]:
    """Waiting tickets per service, every configured service listed (also when empty)."""
    waiting: dict[str, list[dict[str, Any]]] = {s: [] for s in services}
    for t in view.get("waiting", []):
        waiting.setdefault(t["service"], []).append(
            {k: t.get(k) for k in ("ticket", "number", "priority", "appointment",
                                   "expected_wait_s")})
    return [{"service": s, "letter": services.get(s, ""), "count": len(ts), "waiting": ts}
            for s, ts in waiting.items()]


def booths(view: Mapping[str, Any], devices: Sequence[Mapping[str, Any]],
           numbers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every booth the queue or the registry knows: its state, ticket and device health."""
    known = {d["id"]: d for d in devices if d.get("role") == "booth"}
    queue_booths: Mapping[str, Any] = view.get("booths", {})
    out = []
    for booth in sorted(set(known) | set(queue_booths)):
        q = queue_booths.get(booth, {})
        d = known.get(booth, {})
        ticket = q.get("ticket")
        out.append({
            "id": booth,
            "label": q.get("label") or booth,
            "state": q.get("state") or d.get("state") or "unknown",
            "faulty": bool(q.get("faulty")),
            "fault": q.get("fault") or "",
            "ticket": ticket,
            "number": numbers.get(ticket or "", ""),
            "hub": q.get("hub"),
            "online": bool(d.get("connected", d.get("online", False))),
            "health": _parts_json(d.get("health", {})),
        })
    return out


def other_devices(devices: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Kiosks, displays and hubs with their health (booths are listed on their own)."""
    return [{"id": d["id"], "role": d["role"],
             "online": bool(d.get("connected", d.get("online", False))),
             "health": _parts_json(d.get("health", {}))}
            for d in devices if d.get("role") not in ("booth", "admin")]


def officers(view: Mapping[str, Any], pairings: Iterable[Mapping[str, str]],
             services: Iterable[str]) -> list[dict[str, Any]]:
    """Each hub with a signed-in officer: its booths, load and skills (none: every service)."""
    by_hub: dict[str, list[str]] = {}
    for p in pairings:
        by_hub.setdefault(p["hub"], []).append(p["booth"])
    out = []
    for hub, h in sorted(view.get("hubs", {}).items()):
        if not h.get("officer"):
            continue
        mine = sorted(by_hub.get(hub, []))
        capacity = int(h.get("capacity") or 0)
        skills = sorted(h.get("skills") or [])
        every = not skills or set(services) <= set(skills)  # none named: every service
        out.append({"hub": hub, "officer": h["officer"], "online": bool(h.get("online")),
                    "booths": mine, "load": len(mine), "capacity": capacity,
                    "skills": sorted(services) if every else skills, "all_services": every})
    return out


def unserved(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The services the queue says nobody signed in can serve (``/api/queue``'s
    ``unserved_services``: ``{"service", "count", "oldest_wait_s"}`` or a bare name; absent:
    none)."""
    found = []
    for item in view.get("unserved_services") or []:
        entry = dict(item) if isinstance(item, Mapping) else {"service": item}
        if isinstance(entry.get("service"), str) and entry["service"]:
            found.append(entry)
    return found


def parked_overdue(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cases parked longer than the limit (``/api/queue``'s ``parked``; absent: none)."""
    parked = view.get("parked") or {}
    if not isinstance(parked, Mapping):
        return []
    return [{"booth": booth, **case} for booth, case in sorted(parked.items())
            if isinstance(case, Mapping) and case.get("overdue")]


def outbox(count: int, oldest_decided: float | None, *, now: float, alert_s: float,
           head_office: bool) -> dict[str, Any]:
    """The evidence outbox's backlog: bundles the head office has not acknowledged, the age
    of the oldest decision among them, and whether that is past the limit."""
    age = None if oldest_decided is None else max(0.0, now - oldest_decided)
    return {"backlog": count, "oldest_decided": oldest_decided, "oldest_age_s": age,
            "alert_s": alert_s, "head_office": head_office,
            "late": age is not None and age > alert_s}


def alerts(*, booth_list: Sequence[Mapping[str, Any]], others: Sequence[Mapping[str, Any]],
           fault_since: Mapping[tuple[str, str], float], sla: Sequence[Mapping[str, Any]],
           unserved_services: Sequence[Mapping[str, Any]],
           parked: Sequence[Mapping[str, Any]] = (), waiting: Sequence[Mapping[str, Any]],
           backlog: Mapping[str, Any] | None = None,
           receipts: Sequence[Mapping[str, Any]] = (),
           sign_in_locks: Sequence[Mapping[str, Any]] = (),
           now: float) -> list[dict[str, Any]]:
    """Alerts in force, newest first: device faults, booths offline, SLA risks, unserved
    services, cases parked too long, evidence the head office has not had for too long,
    receipts a booth could not print (their ``receipt_not_printed`` audit entries), hubs whose
    officer sign-in is locked after wrong PINs (with the ids tried: whose account someone was
    guessing). Each has a stable ``id`` so the page can tell a new one from a known one."""
    out: list[dict[str, Any]] = []
    for device in [*booth_list, *others]:
        name = device.get("label") or device["id"]
        for part in device["health"]:
            if part["fault"]:
                since = fault_since.get((device["id"], part["kind"]), now)
                out.append({
                    "id": f"device_fault:{device['id']}:{part['kind']}",
                    "kind": "device_fault", "subject": device["id"], "part": part["kind"],
                    "detail": f"{name}: {part['kind']} {part['health']}"
                              + (f" ({part['detail']})" if part["detail"] else ""),
                    "since": since})
    for booth in booth_list:
        if booth["faulty"] and booth["fault"] == "offline":
            out.append({"id": f"device_offline:{booth['id']}", "kind": "device_offline",
                        "subject": booth["id"], "part": "",
                        "detail": f"{booth['label']}: offline, out of service",
                        "since": fault_since.get((booth["id"], ""), now)})
    for entry in sla:
        detail = entry.get("detail") or {}
        reason = str(detail.get("reason", "at risk")).replace("_", " ")
        ticket = detail.get("ticket") or ""
        out.append({"id": f"sla_risk:{entry['subject']}:{entry['at']}", "kind": "sla_risk",
                    "subject": entry["subject"], "part": "",
                    "detail": f"appointment {entry['subject']}: {reason}"
                              + (f", ticket {ticket}" if ticket else ""),
                    "since": entry["at"]})
    for entry in unserved_services:
        service = entry["service"]
        count = entry.get("count")
        if not isinstance(count, int):
            count = sum(1 for t in waiting if t.get("service") == service)
        oldest = entry.get("oldest_wait_s")
        longest = (f", the longest for {_duration(oldest)}"
                   if isinstance(oldest, int | float) else "")
        out.append({"id": f"unserved:{service}", "kind": "unserved_service",
                    "subject": service, "part": "",
                    "detail": f"no officer signed in serves {service}; {count} waiting{longest}",
                    "since": now - float(oldest) if isinstance(oldest, int | float) else now})
    for case in parked:
        out.append({"id": f"parked:{case['booth']}:{case.get('ticket', '')}",
                    "kind": "parked_too_long", "subject": case["booth"], "part": "",
                    "detail": f"{case['booth']}: {case.get('number') or 'a case'} parked by "
                              f"{case.get('hub') or 'its officer'} for "
                              f"{_duration(case.get('parked_s') or 0)}",
                    "since": case.get("since") or now})
    for entry in receipts:
        detail = entry.get("detail") or {}
        reference = str(detail.get("reference", ""))
        reason = str(detail.get("reason", "") or "")
        ticket = str(detail.get("ticket", "") or "")
        out.append({"id": f"receipt:{reference}", "kind": "receipt_not_printed",
                    "subject": entry["subject"], "part": "printer",
                    "detail": f"{entry['subject']}: receipt not printed, claim {reference}"
                              + (f", ticket {ticket}" if ticket else "")
                              + (f" ({reason})" if reason else ""),
                    "since": entry["at"]})
    for lock in sign_in_locks:
        tried = ", ".join(lock.get("officers_tried") or []) or "unknown ids"
        left = float(lock.get("seconds_left") or 0.0)
        out.append({"id": f"sign_in_locked:{lock['hub']}", "kind": "sign_in_locked",
                    "subject": lock["hub"], "part": "",
                    "detail": f"{lock['hub']}: officer sign-in locked after wrong PINs "
                              f"(tried: {tried}); {_duration(left)} left",
                    "since": float(lock.get("since", now))})
    if backlog and backlog["late"]:
        count, age = backlog["backlog"], float(backlog["oldest_age_s"])
        where = "the head office" if backlog["head_office"] else "a head office (none is set)"
        out.append({"id": "outbox_backlog", "kind": "outbox_backlog", "subject": "outbox",
                    "part": "",
                    "detail": f"{count} evidence bundle{'s' if count != 1 else ''} not yet at "
                              f"{where}; the oldest decided {_age(age)} ago (alert after "
                              f"{_age(float(backlog['alert_s']))})",
                    "since": float(backlog["oldest_decided"]) + float(backlog["alert_s"])})
    out.sort(key=lambda a: (-float(a["since"]), a["id"]))
    return out


def _duration(seconds: float) -> str:
    minutes = int(seconds) // 60
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


def _age(seconds: float) -> str:
    """``_duration`` with hours: "3 h 5 min", "2 h", "12 min", "40 s"."""
    hours, minutes = divmod(int(seconds) // 60, 60)
    if not hours:
        return _duration(seconds)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def figures(stats: Mapping[str, Any], rescans: Mapping[str, int],
            services: Iterable[str]) -> dict[str, Any]:
    """``/api/stats``'s figures as they are, with each service's rescans beside them."""
    per_service = dict(stats.get("services", {}))
    out = {}
    for service in sorted(set(services) | set(per_service) | set(rescans)):
        out[service] = {**per_service.get(service, {}), "rescans": int(rescans.get(service, 0))}
    return {"day": stats.get("day", {}), "hours": stats.get("hours", {}), "services": out}
