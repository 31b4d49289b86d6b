"""Statistics computed from the journal of a small, fully known day."""

from __future__ import annotations

from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.stats import percentile, summarise

T0 = 1_594_774_800.0  # 2020-07-15 08:00 WIB


def test_day_figures_from_the_journal() -> None:
    s = Scheduler(QueueRules(), branch="denpasar", now=T0)
    journal: list[tuple[float, ev.Event, list[de.Decision]]] = []

    def at(dt: float, event: ev.Event) -> list[de.Decision]:
        out = s.handle(event, T0 + dt)
        journal.append((T0 + dt, event, out))
        return out

    at(0, ev.HubOnline(hub="h1", skills=("jht",), capacity=1))
    at(0, ev.BoothAdded(booth="b1"))
    qr = at(60, ev.TicketIssued(service="jht", token="a"))[0].qr  # type: ignore[attr-defined]
    at(120, ev.TicketClaimed(booth="b1", qr=qr))
    at(150, ev.OfficerFocus(hub="h1", booth="b1"))
    at(270, ev.OfficerFocus(hub="h1", booth=None))
    at(720, ev.SessionEnded(booth="b1", outcome="approved"))
    at(750, ev.BoothFree(booth="b1"))
    at(
        800,
        ev.AppointmentsBooked(bookings=({"code": "BK-0001", "service": "jht", "slot": T0 + 1800},)),
    )
    qr2 = at(1000, ev.AppointmentCheckedIn(code="BK-0001", token="b"))[0].qr  # type: ignore[attr-defined]
    assert [d.KIND.value for d in at(1500, ev.Tick())] == ["call"]
    at(1540, ev.TicketClaimed(booth="b1", qr=qr2))
    at(1900, ev.OfficerFocus(hub="h1", booth="b1"))  # 100 s after the slot
    at(2000, ev.SessionEnded(booth="b1", outcome="incomplete"))  # ends the focus too

    summary = summarise(journal, utc_offset_min=420, until=T0 + 3600)
    day = summary["day"]
    assert day["issued"] == 2 and day["claims"] == 2
    assert day["wait"]["n"] == 2 and day["wait"]["p50_s"] == 250.0  # waits 0 and 500
    assert day["handle"]["p50_s"] == 530.0  # 600 and 460
    assert day["officer_online_h"] == 1.0
    assert day["officer_utilisation"] == round((120 + 100) / 3600, 3)
    assert day["claims_per_officer_hour"] == 2.0
    assert day["appointments_started"] == 1
    assert day["appointment_lateness_p95_s"] == 100.0
    assert day["appointments_within_sla"] == 1.0
    assert list(summary["hours"]) == ["08"]
    assert summary["hours"]["08"]["claims"] == 2


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([10.0], 95) == 10.0
    assert percentile([0.0, 10.0, 20.0, 30.0, 40.0], 50) == 20.0
    assert percentile([0.0, 100.0], 95) == 95.0
