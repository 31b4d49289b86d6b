"""What each tile says about the officer's attention: the time since the officer last
attended the booth, and the queue's SLA alert about the booth's appointment.

The alert comes from the real branch queue: a booking whose slot is past checks in at
a kiosk, is called to a booth, claimed and paired with the hub; the queue judges it at
risk and tells the hubs. The tile of that booth shows it until the officer attends it.
"""

from __future__ import annotations

from typing import Any

import pytest

from officer import console
from officer.hub import Hub
from tests.helpers import until
from tests.officer.conftest import OFFICER, PIN, Branch

pytestmark = pytest.mark.slow


def tile(hub: Hub, booth: str) -> dict[str, Any]:
    for entry in console.state(hub)["booths"]:
        if entry["booth"] == booth:
            return dict(entry)
    raise AssertionError(f"no tile for {booth}")


async def test_time_since_attended_counts_from_when_the_officer_left(branch: Branch) -> None:
    hub = await branch.hub()
    await branch.booth("booth-01", receive=False)
    await branch.booth("booth-02", receive=False)
    await until(lambda: hub.peer_of("booth-01") is not None
                and hub.peer_of("booth-02") is not None, "both booths paired")
    # Never attended: nothing to count from yet (the console counts from the pairing).
    assert tile(hub, "booth-01")["since_attended_s"] is None
    assert tile(hub, "booth-02")["since_attended_s"] is None

    await hub.focus("booth-01")
    assert tile(hub, "booth-01")["since_attended_s"] == 0.0  # being attended now
    assert tile(hub, "booth-02")["since_attended_s"] is None

    await hub.focus("booth-02")
    assert tile(hub, "booth-02")["since_attended_s"] == 0.0
    await until(lambda: (tile(hub, "booth-01")["since_attended_s"] or 0.0) >= 1.0,
                "booth-01's time since attended counting")

    await hub.focus(None)
    await until(lambda: (tile(hub, "booth-02")["since_attended_s"] or 0.0) >= 1.0,
                "booth-02's time since attended counting")
    assert tile(hub, "booth-01")["since_attended_s"] > tile(hub, "booth-02")["since_attended_s"]


async def test_an_appointment_at_risk_marks_its_booths_tile_until_attended(
    branch: Branch,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    await hub.desk.sign_in(OFFICER, PIN)
    booth = await branch.booth("booth-01", receive=False, queue=True)
    other = await branch.booth("booth-02", receive=False)  # a walk-in outside the queue
    await until(lambda: hub.peer_of("booth-02") is not None, "booth-02 paired")

    ticket = await branch.at_risk_not_attended("BK-7001", booth, hub)
    await until(lambda: tile(hub, "booth-01")["sla"] is not None, "the SLA mark on booth-01")
    assert tile(hub, "booth-01")["ticket"] == ticket
    sla = tile(hub, "booth-01")["sla"]
    assert sla["kind"] == "appointment_at_risk" and sla["subject"] == "BK-7001"
    assert sla["reason"] == "not_attended"
    assert tile(hub, "booth-02")["sla"] is None  # only the booth serving that ticket
    assert other.pairing is not None

    # The officer attends booth-01: the tile's mark goes; the queue panel keeps the alert.
    await hub.focus("booth-01")
    assert tile(hub, "booth-01")["sla"] is None
    assert [a["subject"] for a in console.state(hub)["alerts"]] == ["BK-7001"]
    await hub.focus("booth-02")
    assert tile(hub, "booth-01")["sla"] is None  # attended once: not at risk again
