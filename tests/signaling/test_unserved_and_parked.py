"""What the queue's views say about tickets nobody signed in serves and about parked cases
(pure: the queue core and the functions over its state)."""

from __future__ import annotations

from signaling.limits import PARKED_TOO_LONG_S
from signaling.parking import parked_cases
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.rules import QueueRules
from signaling.queue.scheduler import Scheduler
from signaling.queue.unserved import unserved_services

T0 = 1_594_774_800.0


def test_a_service_nobody_signed_in_serves_is_named_with_its_count_and_oldest_wait() -> None:
    s = Scheduler(QueueRules(), branch="kc-01", now=T0)
    s.handle(ev.HubOnline(hub="hub-01", skills=("jht",), officer="ani"), T0)
    s.handle(ev.HubOnline(hub="hub-02", skills=("jp",), officer=""), T0)  # nobody signed in
    s.handle(ev.TicketIssued(service="jp", token="t1"), T0 + 10)
    s.handle(ev.TicketIssued(service="jht", token="t2"), T0 + 20)
    s.handle(ev.TicketIssued(service="jp", token="t3"), T0 + 30)
    s.handle(ev.TicketIssued(service="jkm", token="t4"), T0 + 40)
    assert unserved_services(s.waiting(), s.hubs.values(), T0 + 100) == [
        {"service": "jp", "count": 2, "oldest_wait_s": 90.0},
        {"service": "jkm", "count": 1, "oldest_wait_s": 60.0},
    ]
    s.handle(ev.HubOnline(hub="hub-02", skills=("jp", "jkm"), officer="jaya"), T0 + 100)
    assert unserved_services(s.waiting(), s.hubs.values(), T0 + 100) == []


def test_a_parked_case_is_listed_for_its_officer_and_flagged_past_the_limit() -> None:
    s = Scheduler(QueueRules(), branch="kc-01", now=T0)
    s.handle(ev.HubOnline(hub="hub-01", skills=("jht",), officer="ani"), T0)
    s.handle(ev.BoothAdded(booth="booth-01", label="Bilik 1"), T0)
    issued = s.handle(ev.TicketIssued(service="jht", token="tok"), T0)
    qr = next(d for d in issued if isinstance(d, de.TicketIssuedDecision)).qr
    s.handle(ev.TicketClaimed(booth="booth-01", qr=qr), T0 + 60)
    assert parked_cases(s, T0 + 60) == {}
    s.handle(ev.Park(booth="booth-01"), T0 + 100)
    parked = parked_cases(s, T0 + 130)
    assert parked["booth-01"]["hub"] == "hub-01" and parked["booth-01"]["since"] == T0 + 100
    assert parked["booth-01"]["parked_s"] == 30.0 and not parked["booth-01"]["overdue"]
    assert parked_cases(s, T0 + 130, hub="hub-02") == {}
    late = T0 + 101 + PARKED_TOO_LONG_S
    assert parked_cases(s, late)["booth-01"]["overdue"]
    s.handle(ev.Resume(booth="booth-01"), late)
    assert parked_cases(s, late) == {}
