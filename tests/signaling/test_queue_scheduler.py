"""Scenario tests of the queue core: what kiosks, displays, booths and officers would see."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.errors import SignalingError
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.errors import (
    CheckInRefused,
    HubFull,
    InvalidEvent,
    InvalidQr,
    InvalidTransition,
    NotCalled,
    QueueError,
    StateCorrupt,
    UnknownBooth,
    UnknownService,
    UnknownTicket,
    WrongBooth,
)
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.tickets import TicketState

T0 = 1_594_774_800.0  # 2020-07-15 08:00 WIB
RULES = QueueRules()


class QueueDay:
    """One queue day: a scheduler and a clock, with helpers that speak like the devices (no
    server: the pure core alone; the server-backed branch is in conftest.py)."""

    def __init__(self, rules: QueueRules = RULES) -> None:
        self.s = Scheduler(rules, branch="denpasar", now=T0 - 3600)
        self.now = T0
        self.n = 0
        self.qr: dict[str, str] = {}  # number -> QR payload

    def do(self, event: ev.Event, dt: float = 0.0) -> list[Any]:
        self.now += dt
        return self.s.handle(event, self.now)

    def refused(self, event: ev.Event, error: type[QueueError]) -> QueueError:
        before = json.dumps(self.s.to_dict(), sort_keys=True)
        with pytest.raises(error) as info:
            self.s.handle(event, self.now)
        assert json.dumps(self.s.to_dict(), sort_keys=True) == before, (
            "a refused event changed state"
        )
        return info.value

    def booths(self, *ids: str) -> None:
        for b in ids:
            self.do(ev.BoothAdded(booth=b, label=f"Bilik {b[1:]}"))

    def hub(self, hub: str, skills: tuple[str, ...] = ("jht", "jkk"), cap: int = 6) -> list[Any]:
        return self.do(ev.HubOnline(hub=hub, skills=skills, capacity=cap))

    def walk_in(self, service: str = "jht", priority: str = "none", dt: float = 1.0) -> list[Any]:
        self.n += 1
        out = self.do(
            ev.TicketIssued.from_dict(
                {
                    "kind": "ticket_issued",
                    "service": service,
                    "priority": priority,
                    "token": f"tok{self.n}",
                }
            ),
            dt,
        )
        issued = out[0]
        assert isinstance(issued, de.TicketIssuedDecision)
        self.qr[issued.number] = issued.qr
        return out

    def claim(self, booth: str, number: str, dt: float = 20.0) -> list[Any]:
        return self.do(ev.TicketClaimed(booth=booth, qr=self.qr[number]), dt)

    def tick(self, dt: float) -> list[Any]:
        return self.do(ev.Tick(), dt)


def kinds(decisions: list[de.Decision]) -> list[str]:
    return [d.KIND.value for d in decisions]


def calls(decisions: list[de.Decision]) -> list[tuple[str, str]]:
    return [(d.number, d.booth) for d in decisions if isinstance(d, de.Call)]


def test_walk_in_is_numbered_called_claimed_paired_and_closed() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    out = b.walk_in()
    issued = out[0]
    assert (issued.number, issued.ticket) == ("A001", "20200715-A001")
    assert issued.qr == "BILIK1:T:denpasar:20200715-A001:tok1"
    assert calls(out) == [("A001", "b1")]
    assert out[1].label == "Bilik 1"
    out = b.claim("b1", "A001")
    assert kinds(out) == ["claimed", "pair"]
    assert (out[1].booth, out[1].hub) == ("b1", "h1")
    out = b.do(ev.SessionEnded(booth="b1", outcome="approved"), 900)
    assert kinds(out) == ["session_closed"]
    assert out[0].handle_s == 900
    # The booth stays busy until the participant has left, then calls again.
    b.walk_in()
    assert b.s.booths["b1"].state.value == "busy"
    assert calls(b.do(ev.BoothFree(booth="b1"), 30)) == [("A002", "b1")]


def test_numbers_run_per_service_and_restart_each_local_day() -> None:
    b = QueueDay()
    numbers = [b.walk_in(s)[0].number for s in ("jht", "jht", "jkk", "jht")]
    assert numbers == ["A001", "A002", "B001", "A003"]
    b.now = T0 + 16 * 3600 + 1  # past midnight WIB
    out = b.walk_in("jht")
    assert out[0].number == "A001"
    assert out[0].ticket.startswith("20200716-")


def test_unknown_service_and_unknown_booth_are_specific_errors() -> None:
    b = QueueDay()
    err = b.refused(ev.TicketIssued(service="loan", token="x"), UnknownService)
    assert "loan" in str(err) and isinstance(err, SignalingError)
    b.refused(ev.BoothFree(booth="nope"), UnknownBooth)
    with pytest.raises(InvalidEvent, match="backwards"):
        b.s.handle(ev.Tick(), T0 - 7200)


def test_priority_walk_in_goes_ahead_of_earlier_ordinary_tickets() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    b.do(ev.BoothBusy(booth="b1"))
    b.walk_in()  # A001
    b.walk_in()  # A002
    b.walk_in(priority="pregnant")  # A003
    assert calls(b.do(ev.BoothFree(booth="b1"), 5)) == [("A003", "b1")]


def test_booking_is_called_in_its_window_ahead_of_walk_ins_and_not_before() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    b.do(ev.BoothBusy(booth="b1"))
    slot = T0 + 3600
    b.do(ev.AppointmentsBooked(bookings=({"code": "BK-0001", "service": "jht", "slot": slot},)))
    b.walk_in()
    out = b.do(ev.AppointmentCheckedIn(code="BK-0001", token="bk"), 600)
    assert kinds(out) == ["checked_in"] and out[0].number == "R001"
    # Slot is 50 minutes away: the free booth calls the walk-in, not the booking.
    assert calls(b.do(ev.BoothFree(booth="b1"), 1)) == [("A001", "b1")]
    b.claim("b1", "A001")
    b.do(ev.SessionEnded(booth="b1", outcome="approved"), 60)
    b.walk_in()
    b.do(ev.BoothBusy(booth="b1"))
    b.now = slot - RULES.call_early_s
    assert calls(b.do(ev.BoothFree(booth="b1"))) == [("R001", "b1")]


def test_unclaimed_call_is_recalled_once_then_no_show_and_the_booth_calls_the_next() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    b.walk_in()
    b.walk_in()
    assert b.tick(RULES.claim_timeout_s - 2) == []
    out = b.tick(2)
    assert [(d.KIND.value, d.number, d.attempt) for d in out] == [("recall", "A001", 1)]
    assert "no_show" not in kinds(b.tick(RULES.claim_timeout_s - 5))
    out = b.tick(5)
    assert kinds(out) == ["no_show", "call"]
    assert calls(out) == [("A002", "b1")]
    assert b.s.tickets["20200715-A001"].state is TicketState.NO_SHOW
    err = b.refused(ev.TicketClaimed(booth="b1", qr=b.qr["A001"]), NotCalled)
    assert err.key == "queue.not_called"


def test_claim_at_the_wrong_booth_or_with_a_forged_qr_is_refused() -> None:
    b = QueueDay()
    b.booths("b1", "b2")
    b.hub("h1")
    b.walk_in()  # called to b1
    err = b.refused(ev.TicketClaimed(booth="b2", qr=b.qr["A001"]), WrongBooth)
    assert isinstance(err, WrongBooth) and err.booth == "Bilik 1"
    forged = b.qr["A001"].rsplit(":", 1)[0] + ":guess"
    b.refused(ev.TicketClaimed(booth="b1", qr=forged), InvalidQr)
    other_branch = b.qr["A001"].replace("denpasar", "langsa")
    b.refused(ev.TicketClaimed(booth="b1", qr=other_branch), InvalidQr)
    b.refused(ev.TicketClaimed(booth="b1", qr="hello"), InvalidQr)
    b.refused(ev.TicketClaimed(booth="b1", qr="BILIK1:T:denpasar:20200715-A009:x"), UnknownTicket)
    assert kinds(b.claim("b1", "A001")) == ["claimed", "pair"]
    assert b.claim("b1", "A001") == []  # a second scan changes nothing


def test_pairing_is_least_loaded_by_skill_and_never_over_capacity() -> None:
    b = QueueDay()
    b.booths("b1", "b2", "b3", "b4")
    b.hub("h1", skills=("jht",), cap=2)
    b.hub("h2", skills=("jht", "jkk"), cap=1)
    pairs = []
    for service in ("jkk", "jht", "jht", "jht"):
        b.walk_in(service)
    for i in range(1, 5):
        number = b.s.booths[f"b{i}"].ticket
        assert number is not None
        out = b.claim(f"b{i}", b.s.tickets[number].number)
        pairs.append(
            [(d.KIND.value, getattr(d, "hub", None)) for d in out if d.KIND.value != "claimed"]
        )
    # jkk only h2 handles; then least loaded h1; h1 again; both full -> wait.
    assert pairs == [[("pair", "h2")], [("pair", "h1")], [("pair", "h1")], [("wait_for_hub", None)]]
    assert [len(h.booths) for h in b.s.hubs.values()] == [2, 1]
    out = b.do(ev.SessionEnded(booth="b2", outcome="approved"), 300)
    assert kinds(out) == ["session_closed", "pair"]
    assert (out[1].booth, out[1].hub) == ("b4", "h1")


def test_hub_offline_repairs_its_booths_elsewhere_keeping_each_ticket() -> None:
    b = QueueDay()
    b.booths("b1", "b2", "b3")
    b.hub("h1", cap=3)
    for _ in range(3):
        b.walk_in()
    for i, number in enumerate(("A001", "A002", "A003"), start=1):
        b.claim(f"b{i}", number)
    b.hub("h2", cap=2)
    out = b.do(ev.HubOffline(hub="h1"), 60)
    assert [(d.KIND.value, d.booth, getattr(d, "hub", None)) for d in out] == [
        ("repair", "b1", "h2"),
        ("repair", "b2", "h2"),
        ("unpair", "b3", "h1"),
        ("wait_for_hub", "b3", None),
    ]
    assert all(d.ticket == b.s.booths[d.booth].ticket for d in out)
    out = b.hub("h1", cap=3)
    assert [(d.KIND.value, d.booth, d.hub) for d in out] == [("pair", "b3", "h1")]


def test_booth_fault_moves_its_ticket_first_in_line_and_back_to_its_officer() -> None:
    b = QueueDay()
    b.booths("b1", "b2")
    b.hub("h1", cap=1)
    b.hub("h2", cap=1)
    b.walk_in()
    b.claim("b1", "A001")
    first_hub = b.s.booths["b1"].hub
    b.walk_in()  # A002 called to b2
    b.claim("b2", "A002")
    b.walk_in()  # A003 waits
    out = b.do(ev.BoothFaulty(booth="b1", reason="camera"), 120)
    assert kinds(out) == ["unpair", "move"]
    assert b.s.tickets["20200715-A001"].state is TicketState.WAITING
    b.do(ev.SessionEnded(booth="b2", outcome="approved"), 60)
    out = b.do(ev.BoothFree(booth="b2"), 30)
    assert calls(out) == [("A001", "b2")]  # ahead of A003, issued later but waiting longer
    assert out[0].moved is True
    out = b.claim("b2", "A001")
    assert [(d.KIND.value, getattr(d, "hub", None)) for d in out] == [
        ("claimed", None),
        ("pair", first_hub),
    ]
    history = [what for _, what, _ in b.s.tickets["20200715-A001"].history]
    assert history[:6] == ["issued", "called", "claimed", "paired", "moved", "called"]
    # The faulty booth does not call until healthy.
    assert b.s.booths["b1"].state.value == "free" and b.s.booths["b1"].faulty
    assert calls(b.do(ev.BoothHealthy(booth="b1"), 600)) == [("A003", "b1")]


def test_transfer_and_park_resume_carry_the_ticket() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1", cap=1)
    b.hub("h2", cap=1)
    b.walk_in()
    b.claim("b1", "A001")
    b.refused(ev.Transfer(booth="b1", to_hub="h1"), InvalidTransition)
    out = b.do(ev.Transfer(booth="b1", to_hub="h2"), 60)
    assert [(d.KIND.value, d.hub, d.from_hub, d.reason.value) for d in out] == [
        ("repair", "h2", "h1", "transfer")
    ]
    b.do(ev.HubCapacity(hub="h1", capacity=0))
    b.refused(ev.Transfer(booth="b1"), HubFull)
    out = b.do(ev.Park(booth="b1"), 10)
    assert kinds(out) == ["unpair"] and b.s.hubs["h2"].booths == []
    out = b.do(ev.Resume(booth="b1"), 120)
    assert [(d.KIND.value, d.hub) for d in out] == [("pair", "h2")]


def test_officer_focus_only_on_own_booths_and_starts_the_appointment_clock() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    b.hub("h2")
    b.walk_in()
    b.claim("b1", "A001")
    b.refused(ev.OfficerFocus(hub="h2", booth="b1"), InvalidTransition)
    b.do(ev.OfficerFocus(hub="h1", booth="b1"), 15)
    assert b.s.tickets["20200715-A001"].started_at == b.now


def booked(b: QueueDay, code: str, slot: float, service: str = "jht") -> None:
    b.do(ev.AppointmentsBooked(bookings=({"code": code, "service": service, "slot": slot},)))


def test_check_in_window_and_codes() -> None:
    b = QueueDay()
    booked(b, "BK-0001", T0 + 2 * 3600)
    err = b.refused(ev.AppointmentCheckedIn(code="BK-0001", token="x"), CheckInRefused)
    assert err.key == "queue.booking_too_early"
    b.now = T0 + 2 * 3600 + RULES.check_in_late_s + 1
    err = b.refused(ev.AppointmentCheckedIn(code="BK-0001", token="x"), CheckInRefused)
    assert err.key == "queue.booking_too_late"
    b.now = T0 + 2 * 3600
    b.do(ev.AppointmentCheckedIn(code="BK-0001", token="x"))
    err = b.refused(ev.AppointmentCheckedIn(code="BK-0001", token="y"), CheckInRefused)
    assert err.key == "queue.booking_used"
    with pytest.raises(InvalidEvent):
        b.do(
            ev.AppointmentsBooked(
                bookings=({"code": "BK-0002", "service": "jht", "slot": T0, "branch": "langsa"},)
            )
        )


def test_check_in_at_a_free_booth_sits_down_at_once() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    slot = T0 + 600
    booked(b, "BK-0001", slot)
    out = b.do(ev.AppointmentCheckedIn(code="BK-0001", token="x", booth="b1"), 400)
    assert kinds(out) == ["checked_in", "call", "claimed", "pair"]


def test_a_booking_for_another_day_is_told_so_not_to_come_back_later() -> None:
    b = QueueDay()
    booked(b, "BK-0001", T0 + 86400)  # tomorrow, same hour
    booked(b, "BK-0002", T0 - 86400)  # yesterday
    booked(b, "BK-0003", T0 + 3 * 3600)  # today, too early
    for code in ("BK-0001", "BK-0002"):
        err = b.refused(ev.AppointmentCheckedIn(code=code, token="x"), CheckInRefused)
        assert err.key == "queue.booking_other_day", code
    err = b.refused(ev.AppointmentCheckedIn(code="BK-0003", token="x"), CheckInRefused)
    assert err.key == "queue.booking_too_early"


def test_the_booking_code_claims_its_ticket_at_the_booth_it_is_called_to() -> None:
    b = QueueDay()
    b.booths("b1", "b2")
    b.hub("h1")
    b.walk_in()  # A001 is called to b1
    booked(b, "BK-0001", T0 + 120)
    out = b.do(ev.AppointmentCheckedIn(code="BK-0001", token="x"), 10)  # at the kiosk
    assert kinds(out) == ["checked_in", "call"] and out[1].booth == "b2"
    err = b.refused(ev.AppointmentCheckedIn(code="BK-0001", token="y", booth="b1"), WrongBooth)
    assert err.key == "queue.wrong_booth" and err.booth == "Bilik 2"  # type: ignore[attr-defined]
    out = b.do(ev.AppointmentCheckedIn(code="BK-0001", token="y", booth="b2"), 20)
    assert kinds(out) == ["claimed", "pair"]  # no second ticket: the first one is claimed
    assert out[0].number == "R001" and out[0].booth == "b2"
    again = b.do(ev.AppointmentCheckedIn(code="BK-0001", token="z", booth="b2"), 1)
    assert kinds(again) == []  # scanned twice: nothing more happens
    b.do(ev.SessionEnded(booth="b2", outcome="approved"), 60)
    err = b.refused(ev.AppointmentCheckedIn(code="BK-0001", token="w", booth="b2"),
                    CheckInRefused)
    assert err.key == "queue.booking_used"


def test_forecast_flags_late_appointments_before_they_are_late_and_calls_them_first() -> None:
    b = QueueDay()
    b.booths("b1", "b2")
    b.hub("h1", cap=2)
    for _ in range(6):
        b.walk_in()
    b.claim("b1", "A001")
    b.claim("b2", "A002")
    slot = T0 + 600
    booked(b, "BK-0001", slot)
    b.do(ev.AppointmentCheckedIn(code="BK-0001", token="x"), 300)
    # Both booths are expected busy for a default 20-minute cycle: the booking will be late.
    out = b.tick(RULES.forecast_interval_s)
    risks = [d for d in out if isinstance(d, de.AppointmentAtRisk)]
    assert [(r.code, r.reason.value) for r in risks] == [("BK-0001", "predicted_late")]
    assert risks[0].predicted_start > slot + RULES.sla_late_s - RULES.risk_margin_s
    assert b.now < slot  # raised before the slot
    # The next free booth calls it, ahead of the walk-ins issued before it.
    b.do(ev.SessionEnded(booth="b1", outcome="approved"), 10)
    assert calls(b.do(ev.BoothFree(booth="b1"), 5)) == [("R001", "b1")]


def test_booking_not_checked_in_is_flagged_at_its_slot_then_missed() -> None:
    b = QueueDay()
    booked(b, "BK-0001", T0 + 600)
    deadline = b.s.next_deadline()
    assert deadline is not None and deadline <= T0 + 600
    out = b.tick(600)
    assert [(d.KIND.value, d.reason.value) for d in out] == [
        ("appointment_at_risk", "not_checked_in")
    ]
    out = b.tick(RULES.check_in_late_s + 1)
    assert kinds(out) == ["appointment_missed"]


def test_unattended_appointment_spills_to_an_idle_officer() -> None:
    b = QueueDay()
    b.booths("b1", "b2", "b3")
    b.hub("h1", cap=3)
    b.walk_in()
    b.walk_in()
    b.claim("b1", "A001")
    b.claim("b2", "A002", dt=0)
    b.do(ev.OfficerFocus(hub="h1", booth="b1"))
    booked(b, "BK-0001", b.now + 300)
    b.do(ev.AppointmentCheckedIn(code="BK-0001", token="x"), 10)
    b.do(ev.TicketClaimed(booth="b3", qr="BILIK1:T:denpasar:20200715-R001:x"), 20)
    assert b.s.booths["b3"].hub == "h1"
    b.hub("h2", cap=3)  # a second officer comes online, idle
    out = b.tick(RULES.spill_after_s)
    assert [
        (d.KIND.value, d.booth, d.hub, d.reason.value) for d in out if d.KIND.value == "repair"
    ] == [("repair", "b3", "h2", "spill")]


def test_state_survives_a_restart_and_resumes_identically() -> None:
    b = QueueDay()
    b.booths("b1", "b2")
    b.hub("h1", cap=1)
    for _ in range(4):
        b.walk_in()
    b.claim("b1", "A001")
    booked(b, "BK-0001", T0 + 1800)
    saved = json.dumps(b.s.to_dict())  # what the server writes to SQLite
    restored = Scheduler.from_dict(json.loads(saved), RULES)
    script: list[tuple[ev.Event, float]] = [
        (ev.Tick(), 200),
        (ev.TicketClaimed(booth="b2", qr=b.qr["A002"]), 10),
        (ev.SessionEnded(booth="b1", outcome="approved"), 600),
        (ev.BoothFree(booth="b1"), 30),
        (ev.Tick(), 400),
    ]
    now = b.now
    for event, dt in script:
        now += dt
        assert b.s.handle(event, now) == restored.handle(event, now)
    assert b.s.to_dict() == restored.to_dict()


def test_corrupt_state_is_refused_with_a_clear_error() -> None:
    b = QueueDay()
    b.booths("b1")
    b.hub("h1")
    b.walk_in()
    state = b.s.to_dict()
    with pytest.raises(StateCorrupt, match="version"):
        Scheduler.from_dict({**state, "version": 99}, RULES)
    broken = json.loads(json.dumps(state))
    broken["booths"][0]["ticket"] = None  # the called ticket no longer has its booth
    with pytest.raises(StateCorrupt, match="20200715-A001"):
        Scheduler.from_dict(broken, RULES)
    with pytest.raises(StateCorrupt):
        Scheduler.from_dict({**state, "tickets": [{"id": "x"}]}, RULES)


def test_events_and_decisions_round_trip_through_wire_dicts() -> None:
    event = ev.HubOnline(hub="h1", skills=("jht",), capacity=4, officer="Ayu")
    wire = json.loads(json.dumps(event.to_dict()))
    assert wire == {
        "kind": "hub_online",
        "hub": "h1",
        "skills": ["jht"],
        "capacity": 4,
        "officer": "Ayu",
    }
    assert ev.Event.from_dict(wire) == event
    decision = de.Repair(
        booth="b1", hub="h2", from_hub="h1", ticket="t", reason=de.UnpairReason.SPILL
    )
    assert de.Decision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision
    for bad, match in [
        ({"kind": "launch"}, "unknown kind"),
        ({"kind": "hub_online", "hub": "h1", "skills": ["jht"], "capacity": 7}, "capacity 7"),
        ({"kind": "hub_online", "hub": "", "skills": ["jht"]}, "hub must be"),
        ({"kind": "ticket_issued", "service": "jht", "token": "a b"}, "token"),
        ({"kind": "ticket_issued", "service": "jht", "token": "x", "priority": "vip"}, "priority"),
        ({"kind": "booth_free"}, "booth"),
        ({"kind": "booth_free", "booth": 3}, "booth"),
        ({"kind": "booth_free", "booth": "b1", "extra": 1}, "extra"),
        ([1, 2], "object"),
    ]:
        with pytest.raises(InvalidEvent, match=match):
            ev.Event.from_dict(bad)
