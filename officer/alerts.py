"""Which booth a queue alert is about: the SLA mark on a tile, pure.

The queue broadcasts ``Alert`` to every hub. An appointment at risk names its ticket in
the alert's detail, written by ``signaling/branchqueue.py`` as ``"<reason>; ticket
<id>"`` (``"ticket -"`` when the booking has no ticket yet). A hub shows the alert on
the tile of the booth serving that ticket, until the officer attends that booth.
"""

from __future__ import annotations

import re
from typing import Any

_TICKET = re.compile(r"(?:^|;\s*)ticket\s+(\S+)\s*$")


def alert_ticket(detail: str) -> str:
    """The ticket an alert's detail names, or ``""`` if it names none."""
    match = _TICKET.search(detail)
    if match is None or match.group(1) == "-":
        return ""
    return match.group(1)


def alert_reason(detail: str) -> str:
    """The queue's reason (``not_attended``, ``predicted_late``...), the detail's first part."""
    return detail.split(";", 1)[0].strip()


def for_ticket(alerts: list[dict[str, Any]], ticket: str) -> dict[str, Any] | None:
    """The newest alert about ``ticket`` among the hub's alerts (oldest first), if any."""
    if not ticket:
        return None
    for alert in reversed(alerts):
        if alert_ticket(str(alert.get("detail", ""))) == ticket:
            return alert
    return None
