"""Replay a branch day through the queue scheduler core, for K = 1..6 booths per officer.

    .venv/bin/python bench/branch_day.py [--model FILE.json] [--booths-per-officer K] [--seed N]

The simulator owns the clock (a heap of timed events) and the random generator (seeded); the
decisions come from the very ``Scheduler.handle`` the branch server runs. Each participant's
session is a sequence of steps, each either the officer's attention (one booth at a time per
officer) or self-service at the booth (in parallel). Prints one JSON summary; see docs/queue.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.daymodel import ModelError, Officer, Person, load_model, local_ts, sample
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.errors import QueueError
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.stats import summarise
from signaling.queue.tickets import TicketState

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default_day.json"
BRANCH = "sim-branch"
TARGET_RATIO = 4.5  # K = 6 vs K = 1, claims per officer-hour
TARGET_ON_TIME = 0.95  # appointments started within 5 minutes of their slot, at K = 6


class BranchDay:
    def __init__(self, model: dict[str, Any], k: int, seed: int) -> None:
        self.model, self.k = model, k
        self.rng = random.Random(seed)
        self.rules = QueueRules()
        self.open = local_ts(model, model["open"])
        self.last_ticket = local_ts(model, model["last_ticket"])
        self.close = local_ts(model, model["close"])
        self.sched = Scheduler(self.rules, branch=BRANCH, now=self.open - 3600)
        self.journal: list[tuple[float, ev.Event, list[de.Decision]]] = []
        self.heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self.seq = 0
        self.people: dict[str, Person] = {}
        self.booth_person: dict[str, str] = {}
        self.booth_hub: dict[str, str] = {}
        self.officers = {
            f"officer-{i + 1}": Officer(f"officer-{i + 1}") for i in range(model["officers"])
        }
        self.booths = [f"booth-{i + 1}" for i in range(k * model["officers"])]
        self.arriving: Person | None = None
        self.next_tick = math.inf
        self.refused_check_ins = 0
        self.tokens = 0

    # --- plumbing -----------------------------------------------------------------------

    def push(self, at: float, kind: str, *data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, data))

    def apply(self, event: ev.Event, at: float) -> list[de.Decision]:
        decisions = self.sched.handle(event, at)
        self.journal.append((at, event, decisions))
        for d in decisions:
            self.react(d, at)
        deadline = self.sched.next_deadline()
        if deadline is not None and deadline < self.next_tick:
            self.next_tick = max(deadline, at)
            self.push(self.next_tick, "tick")
        return decisions

    def token(self) -> str:
        self.tokens += 1
        return f"t{self.tokens}x{self.rng.getrandbits(32):08x}"

    # --- the day ------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        m = self.model
        start = self.open - 3600
        for i, b in enumerate(self.booths):
            self.apply(ev.BoothAdded(booth=b, label=f"Bilik {i + 1}"), start)
        self.apply(ev.AppointmentsBooked(bookings=tuple(self.bookings())), start)
        for hub in self.officers:
            self.push(self.open, "hub_up", hub)
        self.plan_walk_ins()
        self.plan_faults()
        while self.heap:
            at, _, kind, data = heapq.heappop(self.heap)
            if at > self.close:
                break
            getattr(self, f"on_{kind}")(at, *data)
        summary = summarise(
            self.journal,
            utc_offset_min=m["utc_offset_min"],
            sla_late_s=self.rules.sla_late_s,
            until=self.close,
        )
        return self.figures(summary)

    def bookings(self) -> list[dict[str, Any]]:
        a, rng = self.model["appointments"], self.rng
        first, last = local_ts(self.model, a["first_slot"]), local_ts(self.model, a["last_slot"])
        step = 3600.0 / a["per_hour"]
        out = []
        slot, n = first, 0
        while slot <= last:
            n += 1
            code = f"BK-{n:04d}"
            out.append({"code": code, "service": self.service(), "slot": slot, "branch": BRANCH})
            if rng.random() >= a["no_show"]:
                arrive = slot - sample(a["arrive_before_slot_s"], rng)
                arrive = max(arrive, slot - self.rules.check_in_early_s + 1, self.open)
                self.push(arrive, "appointment", code)
            slot += step
        return out

    def plan_walk_ins(self) -> None:
        w, rng = self.model["walk_ins"], self.rng
        t = self.open
        while t < self.last_ticket:
            hour = datetime.fromtimestamp(
                t, timezone(timedelta(minutes=self.model["utc_offset_min"]))
            ).strftime("%H")
            rate = float(w["per_hour"].get(hour, 0.0))
            if rate <= 0:
                t = math.floor(t / 3600 + 1) * 3600  # next whole hour (offsets are whole hours)
                continue
            t += rng.expovariate(rate / 3600.0)
            if t < self.last_ticket:
                self.push(t, "walk_in")

    def plan_faults(self) -> None:
        f, rng = self.model["faults"], self.rng
        if f["booth_per_hour"] > 0:
            for b in self.booths:
                t = self.open
                while True:
                    t += rng.expovariate(f["booth_per_hour"] / 3600.0)
                    if t >= self.close:
                        break
                    self.push(t, "booth_fault", b)
        span = self.close - self.open
        for hub in self.officers:
            n = self._poisson(f["hub_outages_per_officer_day"])
            for _ in range(n):
                self.push(self.open + rng.random() * span, "hub_down", hub)

    def _poisson(self, lam: float) -> int:
        n, p, limit = 0, 1.0, math.exp(-lam)
        while True:
            p *= self.rng.random()
            if p <= limit:
                return n
            n += 1

    def service(self) -> str:
        mix = self.model["service_mix"]
        return self.rng.choices(list(mix), weights=list(mix.values()))[0]

    def person(self, appointment: str | None) -> Person:
        rng, m = self.rng, self.model
        steps = [(s["who"], max(1.0, sample(s, rng))) for s in m["session"]]
        leaves = appointment is None and rng.random() < m["walk_ins"]["leave_before_call"]
        return Person(steps, leaves, rng.random() < m["miss_first_call"], appointment)

    # --- timed events -------------------------------------------------------------------

    def on_tick(self, at: float) -> None:
        if at >= self.next_tick:
            self.next_tick = math.inf
        self.apply(ev.Tick(), at)

    def on_walk_in(self, at: float) -> None:
        self.arriving = self.person(None)
        priority = (
            "elderly" if self.rng.random() < self.model["walk_ins"]["priority_share"] else "none"
        )
        self.apply(
            ev.TicketIssued.from_dict(
                {
                    "kind": "ticket_issued",
                    "service": self.service(),
                    "priority": priority,
                    "token": self.token(),
                }
            ),
            at,
        )

    def on_appointment(self, at: float, code: str) -> None:
        self.arriving = self.person(code)
        try:
            self.apply(ev.AppointmentCheckedIn(code=code, token=self.token()), at)
        except QueueError:
            self.refused_check_ins += 1

    def on_claim(self, at: float, ticket: str, gen: int, booth: str) -> None:
        p = self.people[ticket]
        t = self.sched.tickets.get(ticket)
        if p.gen != gen or t is None or t.state is not TicketState.CALLED or t.booth != booth:
            return
        self.apply(ev.TicketClaimed(booth=booth, qr=p.qr), at)

    def on_step_done(self, at: float, ticket: str, gen: int) -> None:
        p = self.people[ticket]
        if p.gen != gen or p.phase != "self":
            return
        p.step += 1
        p.phase = "idle"
        self.start_step(p, at)

    def on_officer_done(self, at: float, hub: str, gen: int) -> None:
        o = self.officers[hub]
        if o.gen != gen or o.current is None:
            return
        booth, o.current = o.current, None
        p = self.people[self.booth_person[booth]]
        p.step += 1
        p.phase = "idle"
        self.start_step(p, at)
        self.officer_next(o, at)

    def on_focus(self, at: float, hub: str, booth: str | None) -> None:
        o = self.officers[hub]
        if not o.online or o.current != booth or o.focus == booth:
            return
        if booth is not None and self.booth_hub.get(booth) != hub:
            return
        o.focus = booth
        self.apply(ev.OfficerFocus(hub=hub, booth=booth), at)

    def on_booth_clear(self, at: float, booth: str) -> None:
        self.apply(ev.BoothFree(booth=booth), at)

    def on_booth_fault(self, at: float, booth: str) -> None:
        if self.sched.booths[booth].faulty:
            return
        self.apply(ev.BoothFaulty(booth=booth, reason="camera"), at)
        self.push(at + sample(self.model["faults"]["booth_repair_s"], self.rng), "booth_fix", booth)

    def on_booth_fix(self, at: float, booth: str) -> None:
        self.apply(ev.BoothHealthy(booth=booth), at)

    def on_hub_down(self, at: float, hub: str) -> None:
        o = self.officers[hub]
        if not o.online:
            return
        o.online, o.current, o.focus = False, None, None
        o.gen += 1
        o.queue.clear()
        self.apply(ev.HubOffline(hub=hub), at)
        self.push(at + sample(self.model["faults"]["hub_outage_s"], self.rng), "hub_up", hub)

    def on_hub_up(self, at: float, hub: str) -> None:
        o = self.officers[hub]
        o.online = True
        self.apply(
            ev.HubOnline(hub=hub, skills=tuple(self.model["officer_skills"]), capacity=self.k), at
        )
        self.officer_next(o, at)

    # --- reactions to decisions ---------------------------------------------------------

    def react(self, d: de.Decision, at: float) -> None:
        if isinstance(d, de.TicketIssuedDecision | de.CheckedIn):
            p = self.arriving
            assert p is not None
            p.ticket, p.qr = d.ticket, d.qr
            self.people[d.ticket] = p
        elif isinstance(d, de.Call):
            p = self.people[d.ticket]
            p.gen += 1
            if p.leaves:
                return
            walk = max(5.0, sample(self.model["walk_to_booth_s"], self.rng))
            if p.miss_first_call:
                p.miss_first_call = False
                walk += self.rules.claim_timeout_s  # comes after hearing the recall
            self.push(at + walk, "claim", d.ticket, p.gen, d.booth)
        elif isinstance(d, de.Claimed):
            self.booth_person[d.booth] = d.ticket
        elif isinstance(d, de.Pair):
            self.link(d.booth, d.hub, at)
        elif isinstance(d, de.Repair):
            self.unlink(d.booth, d.from_hub, at)
            self.link(d.booth, d.hub, at)
        elif isinstance(d, de.Unpair):
            self.unlink(d.booth, d.hub, at)
        elif isinstance(d, de.Move):
            p = self.people[d.ticket]
            p.gen += 1
            p.phase = "idle"  # the interrupted step starts again at the next booth
            self.booth_person.pop(d.from_booth, None)
        elif isinstance(d, de.SessionClosed):
            self.booth_person.pop(d.booth, None)
            leave = max(5.0, sample(self.model["leave_booth_s"], self.rng))
            self.push(at + leave, "booth_clear", d.booth)

    def link(self, booth: str, hub: str, at: float) -> None:
        self.booth_hub[booth] = hub
        p = self.people[self.booth_person[booth]]
        if p.phase == "idle":
            self.start_step(p, at)

    def unlink(self, booth: str, hub: str, at: float) -> None:
        self.booth_hub.pop(booth, None)
        o = self.officers[hub]
        ticket = self.booth_person.get(booth)
        p = self.people[ticket] if ticket else None
        if o.current == booth:
            o.current = None
            o.gen += 1
            o.focus = None  # the scheduler dropped the focus with the pairing
            if p is not None:
                p.phase = "idle"
            self.officer_next(o, at)
        elif booth in o.queue:
            o.queue.remove(booth)
            if p is not None:
                p.phase = "idle"

    def start_step(self, p: Person, at: float) -> None:
        booth = self.sched.tickets[p.ticket].booth
        if booth is None:
            return
        if p.step >= len(p.steps):
            self.apply(ev.SessionEnded(booth=booth, outcome="approved"), at)
            return
        who, seconds = p.steps[p.step]
        if who == "self":
            p.phase = "self"
            self.push(at + seconds, "step_done", p.ticket, p.gen)
            return
        hub = self.booth_hub.get(booth)
        if hub is None:
            return  # waits for an officer; resumes on the next pairing
        p.phase = "queued"
        self.officers[hub].queue.append(booth)
        self.officer_next(self.officers[hub], at)

    def officer_next(self, o: Officer, at: float) -> None:
        if not o.online or o.current is not None:
            return
        if not o.queue:
            if o.focus is not None:
                self.push(at, "focus", o.hub, None)
            return
        booth = o.queue.popleft()
        p = self.people[self.booth_person[booth]]
        o.current = booth
        o.gen += 1
        p.phase = "attended"
        self.push(at, "focus", o.hub, booth)
        self.push(at + p.steps[p.step][1], "officer_done", o.hub, o.gen)

    # --- figures ------------------------------------------------------------------------

    def figures(self, summary: dict[str, Any]) -> dict[str, Any]:
        day = summary["day"]
        kinds = [type(d).__name__ for _, _, ds in self.journal for d in ds]
        walk_ins = [p for p in self.people.values() if p.appointment is None]
        unserved = sum(
            1 for p in walk_ins if self.sched.tickets[p.ticket].state is TicketState.WAITING
        )
        return {
            "k": self.k,
            "booths": len(self.booths),
            "claims": day["claims"],
            "claims_per_officer_hour": day["claims_per_officer_hour"],
            "wait_p50_s": day["wait"]["p50_s"],
            "wait_p95_s": day["wait"]["p95_s"],
            "walk_in_wait_p50_s": day["walk_in_wait"]["p50_s"],
            "walk_in_wait_p95_s": day["walk_in_wait"]["p95_s"],
            "handle_p50_s": day["handle"]["p50_s"],
            "appointments_started": day["appointments_started"],
            "appointment_lateness_p95_s": day["appointment_lateness_p95_s"],
            "appointments_within_5_min": day["appointments_within_sla"],
            "officer_utilisation": day["officer_utilisation"],
            "walk_ins_issued": len(walk_ins),
            "walk_ins_still_waiting_at_close": unserved,
            "no_shows": day["no_shows"],
            "bookings_missed": day["bookings_missed"],
            "late_alerts": day["late_alerts"],
            "moves_after_booth_fault": kinds.count("Move"),
            "repairs": kinds.count("Repair"),
            "events": len(self.journal),
        }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="day model (JSON)")
    parser.add_argument(
        "--booths-per-officer",
        type=int,
        choices=range(1, 7),
        metavar="K",
        help="run only this K (1..6); default: all side by side",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        model = load_model(args.model)
    except ModelError as exc:
        print(f"branch_day: {exc}", file=sys.stderr)
        return 2
    ks = [args.booths_per_officer] if args.booths_per_officer else list(range(1, 7))
    results = []
    for k in ks:
        started = time.perf_counter()
        figures = BranchDay(model, k, args.seed).run()
        figures["run_s"] = round(time.perf_counter() - started, 2)
        results.append(figures)
    out: dict[str, Any] = {
        "model": str(args.model),
        "seed": args.seed,
        "officers": model["officers"],
        "machine": machine(),
        "results": results,
    }
    by_k = {r["k"]: r for r in results}
    if 1 in by_k and 6 in by_k and by_k[1]["claims_per_officer_hour"]:
        ratio = by_k[6]["claims_per_officer_hour"] / by_k[1]["claims_per_officer_hour"]
        on_time = by_k[6]["appointments_within_5_min"] or 0.0
        out["k6_vs_k1_claims_per_officer_hour"] = round(ratio, 2)
        out["target"] = {
            "ratio": TARGET_RATIO,
            "on_time": TARGET_ON_TIME,
            "met": ratio >= TARGET_RATIO and on_time >= TARGET_ON_TIME,
        }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
