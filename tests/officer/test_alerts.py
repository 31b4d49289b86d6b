"""A queue alert's reason and the newest alert about a ticket (what the tiles show)."""

from __future__ import annotations

from officer.alerts import alert_reason, for_ticket


def test_reason_is_the_first_part_of_the_queues_detail() -> None:
    assert alert_reason("not_attended; ticket 20261122-R001") == "not_attended"
    assert alert_reason("predicted_late") == "predicted_late"
    assert alert_reason("") == ""


def test_newest_alert_about_a_ticket() -> None:
    alerts = [
        {"subject": "BK-1", "ticket": "T-1", "detail": "predicted_late; ticket T-1"},
        {"subject": "BK-2", "ticket": "T-2", "detail": "not_attended; ticket T-2"},
        {"subject": "BK-1", "ticket": "T-1", "detail": "not_attended; ticket T-1"},
        {"subject": "BK-3", "ticket": "", "detail": "not_checked_in; ticket -"},
    ]
    assert for_ticket(alerts, "T-1") == alerts[2]
    assert for_ticket(alerts, "T-3") is None
    assert for_ticket(alerts, "") is None  # an alert without a ticket marks no tile
