"""Reading a queue alert's ticket and reason (the detail written by signaling/branchqueue.py)."""

from __future__ import annotations

from officer.alerts import alert_reason, alert_ticket, for_ticket


def test_ticket_and_reason_from_the_queues_detail() -> None:
    assert alert_ticket("not_attended; ticket 20261122-R001") == "20261122-R001"
    assert alert_reason("not_attended; ticket 20261122-R001") == "not_attended"
    assert alert_ticket("not_checked_in; ticket -") == ""  # no ticket yet
    assert alert_ticket("") == ""
    assert alert_ticket("the ticket machine is empty") == ""  # no "; ticket <id>" part


def test_newest_alert_about_a_ticket() -> None:
    alerts = [
        {"subject": "BK-1", "detail": "predicted_late; ticket T-1"},
        {"subject": "BK-2", "detail": "not_attended; ticket T-2"},
        {"subject": "BK-1", "detail": "not_attended; ticket T-1"},
    ]
    assert for_ticket(alerts, "T-1") == alerts[2]
    assert for_ticket(alerts, "T-3") is None
    assert for_ticket(alerts, "") is None
