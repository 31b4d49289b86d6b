"""The participant's seat on the booth's tile: a booth's ``Seat`` through the real server.

The booth says its participant stepped away; the hub marks the tile "away" and counts
the time since; the mark goes when the participant sits down again, and a pairing that
ends takes its absence with it (the next pairing of the same booth starts seated).
"""

from __future__ import annotations

from typing import Any

import pytest

from officer import console
from officer.hub import Hub
from tests.helpers import until
from tests.officer.conftest import Branch

pytestmark = pytest.mark.slow


def tile(hub: Hub, booth: str) -> dict[str, Any] | None:
    for entry in console.state(hub)["booths"]:
        if entry["booth"] == booth:
            return dict(entry)
    return None


def away(hub: Hub, booth: str) -> float | None:
    entry = tile(hub, booth)
    return None if entry is None else entry["away_s"]


async def test_away_mark_comes_counts_goes_and_ends_with_the_pairing(branch: Branch) -> None:
    hub = await branch.hub()
    booth = await branch.booth("booth-01", receive=False)
    await until(lambda: booth.pairing is not None and hub.peer_of("booth-01") is not None,
                "booth-01 paired with the hub")
    assert away(hub, "booth-01") is None  # seated until the booth says otherwise

    await booth.seat(False)
    await until(lambda: away(hub, "booth-01") is not None, "the away mark")
    peer = hub.peer_of("booth-01")
    assert peer is not None and peer.away_since is not None
    left_at = peer.away_since

    # The booth repeats itself: the time counts from when the chair emptied. (The hand
    # that follows arrives after the repeat, on the same ordered connection.)
    await booth.seat(False)
    await booth.raise_hand(True, "help")
    await until(lambda: peer.hand["raised"] is True, "the hand after the repeated away")
    assert peer.away_since == left_at
    await until(lambda: (away(hub, "booth-01") or 0.0) >= 1.0, "the away time counting")

    await booth.seat(True)
    await until(lambda: away(hub, "booth-01") is None, "the away mark gone when seated")

    # Away again, then the pairing ends: the booth's next pairing starts seated.
    await booth.seat(False)
    await until(lambda: away(hub, "booth-01") is not None, "the away mark again")
    first_pairing = booth.pairing
    await booth.end_pairing()
    await until(lambda: booth.pairing not in (None, first_pairing)
                and (p := hub.peer_of("booth-01")) is not None and p.pairing == booth.pairing,
                "booth-01 paired again")
    assert away(hub, "booth-01") is None
    # Let the new call come up before the test ends, so that closing it (and the old one)
    # happens on settled connections rather than in the middle of ICE checks.
    await until(lambda: (p := hub.peer_of("booth-01")) is not None and p.meter.frames > 0,
                "video of the new pairing")


async def test_only_the_booth_that_said_so_is_away(branch: Branch) -> None:
    hub = await branch.hub()
    one = await branch.booth("booth-01", receive=False)
    await branch.booth("booth-02", receive=False)
    await until(lambda: hub.peer_of("booth-01") is not None
                and hub.peer_of("booth-02") is not None, "both booths paired")
    await one.seat(False)
    await until(lambda: away(hub, "booth-01") is not None, "booth-01 away")
    assert away(hub, "booth-02") is None  # only the booth that said so
