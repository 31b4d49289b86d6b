"""The pure parts of the manager's page: health words, alerts, sessions, export ranges and rows,
and the per-service figures of the day."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bilik.devicehealth import DeviceHealth
from signaling import managerviews as mv
from signaling.managerexport import BadRange, TicketRow, parse_range, ticket_rows, to_csv
from signaling.managersessions import NoSession, SessionEnd, Sessions
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.stats import summarise

T0 = 1_594_774_800.0  # 2020-07-15 08:00 WIB


@pytest.mark.parametrize(("word", "health", "detail", "fault"), [
    ("ok", DeviceHealth.OK, "", False),
    ("absent-ok", DeviceHealth.ABSENT, "not fitted", False),
    ("absent", DeviceHealth.ABSENT, "", True),  # a configured device that is missing
    ("error: paper out", DeviceHealth.ERROR, "paper out", True),
    ("reopening: went away", DeviceHealth.REOPENING, "went away", True),
    ("permission-denied: /dev/video0", DeviceHealth.PERMISSION_DENIED, "/dev/video0", True),
    ("on fire", DeviceHealth.ERROR, "on fire", True),  # outside the vocabulary: still a fault
])
def test_health_words_map_to_the_shared_vocabulary(
        word: str, health: DeviceHealth, detail: str, fault: bool) -> None:
    part = mv.part_health("printer", word)
    assert (part.health, part.detail, part.fault) == (health, detail, fault)


def _booth(health: dict[str, str], **extra: Any) -> list[dict[str, Any]]:
    view = {"booths": {"booth-01": {"label": "Bilik 1", "state": "free", "faulty": False,
                                    "fault": "", "ticket": None, "hub": None, **extra}}}
    return mv.booths(view, [{"id": "booth-01", "role": "booth", "health": health,
                             "connected": True}], {})


@pytest.mark.parametrize(("field", "detail"), [
    (None, ""), ([], ""),
    (["jp"], "no officer signed in serves jp; 1 waiting"),
    ([{"service": "jp", "count": 2, "oldest_wait_s": 301.5}],
     "no officer signed in serves jp; 2 waiting, the longest for 5 min"),
])
def test_unserved_services_alert_only_when_the_queue_names_some(field: Any, detail: str) -> None:
    view: dict[str, Any] = {"waiting": [{"service": "jp"}, {"service": "jht"}]}
    if field is not None:
        view["unserved_services"] = field
    found = mv.alerts(booth_list=[], others=[], fault_since={}, sla=[],
                      unserved_services=mv.unserved(view), waiting=view["waiting"], now=T0)
    if detail:
        assert [(a["kind"], a["subject"], a["detail"]) for a in found] == [
            ("unserved_service", "jp", detail)]
    else:
        assert found == []


def test_a_case_parked_too_long_is_an_alert() -> None:
    view: dict[str, Any] = {"parked": {
        "booth-02": {"ticket": "t1", "number": "A004", "service": "jht", "hub": "hub-01",
                     "since": T0, "parked_s": 660.0, "limit_s": 600.0, "overdue": True},
        "booth-03": {"ticket": "t2", "number": "A005", "service": "jht", "hub": "hub-01",
                     "since": T0 + 500, "parked_s": 160.0, "limit_s": 600.0, "overdue": False}}}
    found = mv.alerts(booth_list=[], others=[], fault_since={}, sla=[], unserved_services=[],
                      parked=mv.parked_overdue(view), waiting=[], now=T0 + 660)
    assert [(a["kind"], a["subject"], a["detail"]) for a in found] == [
        ("parked_too_long", "booth-02", "booth-02: A004 parked by hub-01 for 11 min")]
    assert mv.parked_overdue({}) == []


def test_the_head_office_backlog_is_an_alert_only_past_its_limit() -> None:
    def alerts_of(backlog: dict[str, Any]) -> list[dict[str, Any]]:
        return mv.alerts(booth_list=[], others=[], fault_since={}, sla=[], unserved_services=[],
                         waiting=[], backlog=backlog, now=T0)

    empty = mv.outbox(0, None, now=T0, alert_s=7200.0, head_office=True)
    assert (empty["oldest_age_s"], empty["late"], alerts_of(empty)) == (None, False, [])
    young = mv.outbox(3, T0 - 7200.0, now=T0, alert_s=7200.0, head_office=True)
    assert (young["oldest_age_s"], young["late"], alerts_of(young)) == (7200.0, False, [])
    late = mv.outbox(3, T0 - 7500.0, now=T0, alert_s=7200.0, head_office=True)
    (alert,) = alerts_of(late)
    assert alert["id"] == "outbox_backlog" and alert["since"] == T0 - 300.0
    assert alert["detail"] == ("3 evidence bundles not yet at the head office; the oldest "
                               "decided 2 h 5 min ago (alert after 2 h)")
    alone = mv.outbox(1, T0 - 7500.0, now=T0, alert_s=7200.0, head_office=False)
    assert "1 evidence bundle not yet at a head office (none is set)" in (
        alerts_of(alone)[0]["detail"])


def test_a_receipt_not_printed_is_an_alert() -> None:
    entry = {"seq": 9, "at": T0, "action": "receipt_not_printed", "subject": "booth-01",
             "detail": {"reference": "KLM-20261207-0A1B2C3D", "ticket": "t-1",
                        "reason": "printer error: paper out"}}
    (alert,) = mv.alerts(booth_list=[], others=[], fault_since={}, sla=[],
                         unserved_services=[], waiting=[], receipts=[entry], now=T0 + 5)
    assert (alert["id"], alert["kind"], alert["subject"], alert["since"]) == (
        "receipt:KLM-20261207-0A1B2C3D", "receipt_not_printed", "booth-01", T0)
    assert alert["detail"] == ("booth-01: receipt not printed, claim KLM-20261207-0A1B2C3D, "
                               "ticket t-1 (printer error: paper out)")


def test_alerts_are_newest_first_with_stable_ids() -> None:
    booths = _booth({"printer": "error: paper out", "camera": "ok"})
    sla = [{"at": T0 + 50, "subject": "BK-1", "detail": {"reason": "not_checked_in"}}]
    found = mv.alerts(booth_list=booths, others=[], fault_since={("booth-01", "printer"): T0},
                      sla=sla, unserved_services=[], waiting=[], now=T0 + 60)
    assert [a["id"] for a in found] == ["sla_risk:BK-1:1594774850.0",
                                        "device_fault:booth-01:printer"]
    assert found[1]["detail"] == "Bilik 1: printer error (paper out)"
    assert found[0]["detail"] == "appointment BK-1: not checked in"


def test_officers_show_load_and_skills() -> None:
    view = {"hubs": {"hub-01": {"online": True, "capacity": 4, "skills": ["jp"],
                                "officer": "siti"},
                     "hub-02": {"online": True, "capacity": 6, "skills": [], "officer": ""}}}
    pairings = [{"booth": "booth-02", "hub": "hub-01"}, {"booth": "booth-01", "hub": "hub-01"}]
    assert mv.officers(view, pairings, ["jht", "jp"]) == [{
        "hub": "hub-01", "officer": "siti", "online": True, "booths": ["booth-01", "booth-02"],
        "load": 2, "capacity": 4, "skills": ["jp"], "all_services": False}]


def test_sessions_end_when_idle_or_too_old_and_say_why() -> None:
    sessions = Sessions(idle_s=60, max_age_s=300, max_sessions=2)
    a = sessions.open("kacab-01", 0)
    sessions.check(a, 59, touch=False)
    with pytest.raises(NoSession) as idle:
        sessions.check(a, 60, touch=False)
    assert idle.value.why is SessionEnd.IDLE and "1 minute without activity" in idle.value.detail
    b = sessions.open("kacab-01", 100)
    for t in (150, 200, 250, 300, 350, 390):
        sessions.check(b, t, touch=True)
    with pytest.raises(NoSession) as old:
        sessions.check(b, 400, touch=True)
    assert old.value.why is SessionEnd.TOO_OLD
    with pytest.raises(NoSession) as unknown:
        sessions.check("forged", 400, touch=True)
    assert unknown.value.why is SessionEnd.NOT_SIGNED_IN
    # At most max_sessions: the oldest gives way.
    first, _second, third = (sessions.open("m", 500 + i) for i in range(3))
    assert len(sessions) == 2
    with pytest.raises(NoSession):
        sessions.check(first, 510, touch=False)
    assert sessions.check(third, 510, touch=False).manager == "m"
    assert sessions.close_manager("m") == 2


def test_an_export_range_of_31_days_is_allowed_and_32_is_not() -> None:
    span = parse_range("2026-12-01", "2026-12-31", utc_offset_min=420)
    assert (span.end - span.start) == 31 * 86400
    assert span.start == datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=7))).timestamp()
    with pytest.raises(BadRange, match="32 days is too long"):
        parse_range("2026-12-01", "2027-01-01", utc_offset_min=420)
    with pytest.raises(BadRange, match="is not a date"):
        parse_range("2026-12-01T00:00", "2026-12-02", utc_offset_min=420)


def _day() -> list[tuple[float, ev.Event, list[de.Decision]]]:
    s = Scheduler(QueueRules(), branch="denpasar", now=T0)
    journal: list[tuple[float, ev.Event, list[de.Decision]]] = []

    def at(dt: float, event: ev.Event) -> list[de.Decision]:
        out = s.handle(event, T0 + dt)
        journal.append((T0 + dt, event, out))
        return out

    at(0, ev.HubOnline(hub="h1", skills=("jht", "jp"), capacity=1))
    at(0, ev.BoothAdded(booth="b1"))
    qr = at(60, ev.TicketIssued(service="jht", token="a"))[0].qr  # type: ignore[attr-defined]
    at(70, ev.TicketIssued(service="jp", token="b"))
    at(120, ev.TicketClaimed(booth="b1", qr=qr))
    at(720, ev.SessionEnded(booth="b1", outcome="=approved"))
    return journal


def test_the_day_is_counted_per_service_as_well() -> None:
    summary = summarise(_day(), utc_offset_min=420, until=T0 + 3600)
    services = summary["services"]
    assert set(services) == {"jht", "jp"}
    assert (services["jht"]["issued"], services["jht"]["claims"]) == (1, 1)
    assert services["jht"]["handle"]["p50_s"] == summary["day"]["handle"]["p50_s"] == 600.0
    assert (services["jp"]["issued"], services["jp"]["claims"]) == (1, 0)
    assert "officer_utilisation" not in services["jp"]  # an officer's figure, not a service's


def test_export_rows_follow_each_ticket_and_never_carry_a_formula() -> None:
    rows = ticket_rows(((at, ds) for at, _, ds in _day()), utc_offset_min=420,
                       rescans={"T-unknown": 3})
    assert [(r.number, r.service, r.outcome) for r in rows] == [
        ("A001", "jht", "=approved"), ("D001", "jp", "waiting")]
    assert (rows[0].issued_at, rows[0].wait_s, rows[0].handle_s) == (
        "2020-07-15T08:01:00+07:00", "0.0", "600.0")
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert parsed[0]["outcome"] == "'=approved"  # text, not a spreadsheet formula
    assert list(parsed[0]) == [f for f in TicketRow.__dataclass_fields__]
