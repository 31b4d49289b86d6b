"""Which booth a queue alert is about: the SLA mark on a tile, pure.

The queue broadcasts ``Alert`` to every hub. An appointment at risk names its ticket in
the alert's ``ticket`` field (empty when the booking has no ticket yet) and its reason as
the first part of ``detail`` (``"<reason>; ticket <id>"``, written by
``signaling/branchqueue.py``). A hub shows the alert on the tile of the booth serving that
ticket, until the officer attends that booth.
"""

from __future__ import annotations

from typing import Any


def alert_reason(detail: str) -> str:
    """The queue's reason (``not_attended``, ``predicted_late``...), the detail's first part."""
    return detail.split(";", 1)[0].strip()


def for_ticket(alerts: list[dict[str, Any]], ticket: str) -> dict[str, Any] | None:
    """The newest alert about ``ticket`` among the hub's alerts (oldest first), if any."""
    if not ticket:
        return None
    for alert in reversed(alerts):
        if alert.get("ticket") == ticket:
            return alert
    return None
