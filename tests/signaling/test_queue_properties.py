"""Properties of the queue core over random event sequences (Hypothesis state machine).

Checked after every step, from the decisions alone where possible (an independent model):
no ticket lost or duplicated, no hub ever over its capacity or six booths, calls respect the
order (moved > due bookings > priority > others, first come first served within each), a refused
event changes nothing, a saved state resumes identically; at the end, every called ticket ended
claimed or, after its recall, a no-show.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.errors import QueueError
from signaling.queue.limits import MAX_BOOTHS_PER_HUB
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.tickets import TicketState

T0 = 1_594_774_800.0  # 08:00 local
BOOTHS = ("b1", "b2", "b3", "b4", "b5")
HUBS = ("h1", "h2", "h3")
SERVICES = ("jht", "jkk")
RULES = QueueRules(claim_timeout_s=30.0, forecast_interval_s=20.0, spill_after_s=60.0)

durations = st.sampled_from([0.0, 1.0, 5.0, 20.0, 45.0, 120.0])


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.s = Scheduler(RULES, branch="denpasar", now=T0)
        self.now = T0
        self.seq = 0
        self.tokens = 0
        # The test's own model, built from decisions only.
        self.info: dict[str, dict[str, Any]] = {}  # ticket -> issued, seq, priority, slot...
        self.numbers: set[str] = set()
        self.load: dict[str, int] = {}
        self.capacity: dict[str, int] = {}
        self.called: set[str] = set()
        self.recalls_since_call: dict[str, int] = {}
        self.codes: list[str] = []
        for b in BOOTHS:
            self.s.handle(ev.BoothAdded(booth=b, label=b.upper()), self.now)

    # --- driving ------------------------------------------------------------------------

    def step(self, event: ev.Event, dt: float) -> None:
        self.now += dt
        before = json.dumps(self.s.to_dict(), sort_keys=True)
        waiting_before = {t.id for t in self.s.tickets.values() if t.state is TicketState.WAITING}
        try:
            out = self.s.handle(event, self.now)
        except QueueError:
            assert json.dumps(self.s.to_dict(), sort_keys=True) == before, "refusal changed state"
            return
        if isinstance(event, ev.HubOnline | ev.HubCapacity):
            self.capacity[event.hub] = event.capacity
        self.check_decisions(out, waiting_before)

    def token(self) -> str:
        self.tokens += 1
        return f"k{self.tokens}"

    def check_decisions(self, out: list[de.Decision], waiting_before: set[str]) -> None:
        remaining = set(waiting_before)
        for d in out:
            if isinstance(d, de.TicketIssuedDecision | de.CheckedIn):
                assert d.ticket not in self.info, f"ticket {d.ticket} issued twice"
                assert d.number not in self.numbers
                self.numbers.add(d.number)
                self.seq += 1
                self.info[d.ticket] = {
                    "issued": self.now,
                    "seq": self.seq,
                    "priority": getattr(d, "priority", "none"),
                    "slot": getattr(d, "slot", None),
                    "moved": False,
                    "at_risk": False,
                    "qr": d.qr,
                }
                remaining.add(d.ticket)
            elif isinstance(d, de.AppointmentAtRisk) and d.ticket is not None:
                self.info[d.ticket]["at_risk"] = True
            elif isinstance(d, de.Move):
                self.info[d.ticket]["moved"] = True
                remaining.add(d.ticket)
            elif isinstance(d, de.Call):
                self.check_order(d.ticket, remaining)
                remaining.discard(d.ticket)
                self.called.add(d.ticket)
                self.recalls_since_call[d.ticket] = 0
            elif isinstance(d, de.Recall):
                self.recalls_since_call[d.ticket] += 1
            elif isinstance(d, de.NoShow):
                assert self.recalls_since_call[d.ticket] == RULES.recalls, "no-show before recall"
            elif isinstance(d, de.Claimed):
                self.info[d.ticket]["moved"] = False
            elif isinstance(d, de.Pair | de.Repair):
                if isinstance(d, de.Repair):
                    self.load[d.from_hub] -= 1
                self.load[d.hub] = self.load.get(d.hub, 0) + 1
                assert self.load[d.hub] <= min(self.capacity[d.hub], MAX_BOOTHS_PER_HUB), (
                    f"hub {d.hub} over capacity"
                )
            elif isinstance(d, de.Unpair | de.SessionClosed) and d.hub is not None:
                self.load[d.hub] -= 1

    def key(self, ticket: str) -> tuple[int, float, int]:
        i = self.info[ticket]
        if i["moved"]:
            return (0, 0.0, i["seq"])  # moved tickets: among themselves, any order is fine
        if i["slot"] is not None:
            return (1, i["slot"], i["seq"])
        if i["priority"] != "none":
            return (2, i["issued"], i["seq"])
        return (3, i["issued"], i["seq"])

    def callable(self, ticket: str) -> bool:
        i = self.info[ticket]
        service = self.s.tickets[ticket].service
        served = any(h.online and service in h.skills for h in self.s.hubs.values())
        if not served:
            return False
        if i["slot"] is None or i["moved"] or i["at_risk"]:
            return True
        return bool(self.now >= i["slot"] - RULES.call_early_s)

    def check_order(self, ticket: str, remaining: set[str]) -> None:
        assert self.callable(ticket), f"{ticket} called but not callable"
        mine = self.key(ticket)
        for other in remaining - {ticket}:
            if not self.callable(other):
                continue
            theirs = self.key(other)
            if mine[0] == 0 and theirs[0] == 0:
                continue
            assert mine < theirs, f"called {ticket} {mine} before {other} {theirs}"

    # --- rules --------------------------------------------------------------------------

    @rule(
        service=st.sampled_from((*SERVICES, "loan")),
        priority=st.sampled_from(["none", "none", "none", "elderly", "pregnant"]),
        dt=durations,
    )
    def issue(self, service: str, priority: str, dt: float) -> None:
        self.step(
            ev.TicketIssued.from_dict(
                {
                    "kind": "ticket_issued",
                    "service": service,
                    "priority": priority,
                    "token": self.token(),
                }
            ),
            dt,
        )

    @rule(
        service=st.sampled_from(SERVICES),
        ahead=st.sampled_from([-600.0, 0.0, 120.0, 900.0]),
        dt=durations,
    )
    def book(self, service: str, ahead: float, dt: float) -> None:
        code = f"BK-{len(self.codes) + 1:04d}"
        self.codes.append(code)
        booking = {"code": code, "service": service, "slot": self.now + dt + ahead}
        self.step(ev.AppointmentsBooked(bookings=(booking,)), dt)

    @rule(data=st.data(), dt=durations)
    def check_in(self, data: st.DataObject, dt: float) -> None:
        if not self.codes:
            return
        code = data.draw(st.sampled_from(self.codes))
        booth = data.draw(st.sampled_from([None, *BOOTHS]))
        self.step(ev.AppointmentCheckedIn(code=code, token=self.token(), booth=booth), dt)

    @rule(data=st.data(), dt=durations)
    def claim(self, data: st.DataObject, dt: float) -> None:
        calling = [b for b in self.s.booths.values() if b.ticket and b.state.value == "calling"]
        honest: bool = data.draw(st.booleans())
        if calling and honest:
            b = data.draw(st.sampled_from(sorted(calling, key=lambda b: b.id)))
            assert b.ticket is not None
            qr = self.info[b.ticket]["qr"]
            self.step(ev.TicketClaimed(booth=b.id, qr=qr), dt)
        elif self.info:
            ticket = data.draw(st.sampled_from(sorted(self.info)))
            booth = data.draw(st.sampled_from(BOOTHS))
            self.step(ev.TicketClaimed(booth=booth, qr=self.info[ticket]["qr"]), dt)

    @rule(
        booth=st.sampled_from((*BOOTHS, "ghost")),
        what=st.sampled_from(
            ["free", "busy", "faulty", "healthy", "end", "end", "park", "resume", "transfer"]
        ),
        dt=durations,
    )
    def booth_event(self, booth: str, what: str, dt: float) -> None:
        event: ev.Event = {
            "free": ev.BoothFree(booth=booth),
            "busy": ev.BoothBusy(booth=booth),
            "faulty": ev.BoothFaulty(booth=booth, reason="printer"),
            "healthy": ev.BoothHealthy(booth=booth),
            "end": ev.SessionEnded(booth=booth, outcome="approved"),
            "park": ev.Park(booth=booth),
            "resume": ev.Resume(booth=booth),
            "transfer": ev.Transfer(booth=booth),
        }[what]
        self.step(event, dt)

    @rule(
        hub=st.sampled_from(HUBS),
        skills=st.sampled_from([("jht",), ("jkk",), SERVICES]),
        capacity=st.integers(0, 6),
        dt=durations,
    )
    def hub_online(self, hub: str, skills: tuple[str, ...], capacity: int, dt: float) -> None:
        self.step(ev.HubOnline(hub=hub, skills=skills, capacity=capacity), dt)

    @rule(hub=st.sampled_from((*HUBS, "nobody")), dt=durations)
    def hub_offline(self, hub: str, dt: float) -> None:
        self.step(ev.HubOffline(hub=hub), dt)

    @rule(hub=st.sampled_from(HUBS), capacity=st.integers(0, 6), dt=durations)
    def hub_capacity(self, hub: str, capacity: int, dt: float) -> None:
        self.step(ev.HubCapacity(hub=hub, capacity=capacity), dt)

    @rule(hub=st.sampled_from(HUBS), booth=st.sampled_from((None, *BOOTHS)), dt=durations)
    def focus(self, hub: str, booth: str | None, dt: float) -> None:
        self.step(ev.OfficerFocus(hub=hub, booth=booth), dt)

    @rule(dt=st.sampled_from([1.0, 10.0, 31.0, 61.0, 300.0]))
    def tick(self, dt: float) -> None:
        self.step(ev.Tick(), dt)

    @rule(dt=durations)
    def restart(self, dt: float) -> None:
        """The server is killed and resumes from its saved state: nothing differs after."""
        copy = Scheduler.from_dict(json.loads(json.dumps(self.s.to_dict())), RULES)
        waiting = {t.id for t in self.s.tickets.values() if t.state is TicketState.WAITING}
        self.now += dt
        out = self.s.handle(ev.Tick(), self.now)
        assert copy.handle(ev.Tick(), self.now) == out
        assert copy.to_dict() == self.s.to_dict()
        self.s = copy
        self.check_decisions(out, waiting)

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def consistent(self) -> None:
        self.s.check_invariants()
        assert set(self.s.tickets) == set(self.info), "a ticket was lost or invented"
        for h in self.s.hubs.values():
            assert len(h.booths) == self.load.get(h.id, 0), (
                f"hub {h.id} load differs from decisions"
            )
            assert len(h.booths) <= MAX_BOOTHS_PER_HUB

    def teardown(self) -> None:
        # Let time run with nobody claiming: every call must end as a no-show after its recall.
        for _ in range(4 * (len(self.info) + 1)):
            if not any(t.state is TicketState.CALLED for t in self.s.tickets.values()):
                break
            self.step(ev.Tick(), RULES.claim_timeout_s + 1)
        for ticket in self.called:
            t = self.s.tickets[ticket]
            assert t.state is not TicketState.CALLED, f"{ticket} stayed called"
            assert t.state in (TicketState.CLAIMED, TicketState.DONE, TicketState.NO_SHOW) or (
                t.state is TicketState.WAITING and self.info[ticket]["moved"]
            ), f"{ticket} ended {t.state.value}"


QueueMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueProperties = QueueMachine.TestCase
