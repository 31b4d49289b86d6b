"""The booth agent notices a participant who leaves the seat, and asks them back.

A real branch server and a real officer hub peer (WebRTC on loopback); the booth camera
is a synthetic source showing a real face (tests/data/faces) in a booth, then the empty
booth, then the face again; the real face detector runs on its frames. The tracker's
thresholds are short (3 frames away, 2 back) so the test does not wait 20 s; the counting
itself is tested purely in test_presence.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bilik.catalogue import text
from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.presence import FaceDetector, PresenceTracker
from booth.state import BoothState
from booth.view import ScreenName
from hardware.camera import SyntheticSource
from signaling import protocol as p
from tests.booth.branch import Branch
from tests.booth.hubpeer import HubPeer
from tests.booth.test_presence import ASTRONAUT, brick_wall, seated
from tests.helpers import until

pytestmark = pytest.mark.slow

AWAY = "participant_away"


def shown(agent: BoothAgent) -> str:
    snap = agent.screen.last
    return " ".join(snap.drawn) if snap is not None else ""


def on_session_screen(agent: BoothAgent) -> bool:
    snap = agent.screen.last
    return snap is not None and snap.view.screen in (ScreenName.IN_SESSION,
                                                     ScreenName.OFFICER_BUSY)


async def test_a_participant_who_leaves_is_reported_and_asked_back(
    branch: Branch, tmp_path: Path,
) -> None:
    participant = seated(ASTRONAUT, brick_wall(), scale=1.3)[0]
    empty = brick_wall()
    scene: dict[str, np.ndarray] = {"frame": participant}
    hub = HubPeer(branch.url, branch.token("hub-01", "hub"),
                  f"http://127.0.0.1:{branch.server.port}")
    config = BoothConfig(server=branch.url, id="booth-01", flow="direct",
                         data_dir=tmp_path / "booth")
    agent = BoothAgent(
        config, branch.token("booth-01", "booth"),
        camera=lambda: SyntheticSource(lambda _t: scene["frame"], 10.0, name="booth-camera"),
        presence=FaceDetector(),
        presence_tracker=PresenceTracker(away_after=3, back_after=2),
    )
    come_back = text("booth.come_back")
    try:
        await hub.open()
        await agent.start()
        await until(lambda: agent.booth.state is BoothState.IN_SESSION, "the session")
        await until(lambda: hub.booth_video_frames > 0, "the booth's video at the hub")
        await until(lambda: on_session_screen(agent), "the session screen")
        assert agent.booth.present and come_back.en not in shown(agent)

        # The participant gets up and walks away.
        scene["frame"] = empty
        await until(lambda: any(AWAY in s.detail for s in branch.statuses),
                    "participant_away reported to the server")
        assert not agent.booth.present
        seat = await hub.expect(p.Seat, lambda m: m.peer == "booth-01")
        assert not seat.occupied and seat.pairing == agent.booth.pairing  # the officer's tile
        await until(lambda: come_back.id in shown(agent) and come_back.en in shown(agent),
                    "the screen asking the participant back, in both languages")
        assert agent.view().lines[0] == come_back  # the first thing the screen says
        # Leaving the seat does not end the visit: the officer can still see the booth.
        assert agent.booth.state is BoothState.IN_SESSION
        assert agent.state.value == "in_call"

        # They sit down again.
        reported = len(branch.statuses)
        scene["frame"] = participant
        await until(lambda: agent.booth.present, "the participant back")
        seat = await hub.expect(p.Seat, lambda m: m.peer == "booth-01")
        assert seat.occupied and seat.pairing == agent.booth.pairing
        await until(lambda: len(branch.statuses) > reported
                    and AWAY not in branch.statuses[-1].detail,
                    "a Status without participant_away")
        await until(lambda: on_session_screen(agent) and come_back.en not in shown(agent),
                    "the session screen without the request to come back")
        assert sum(AWAY in s.detail for s in branch.statuses) == 1  # reported once
    finally:
        await agent.stop()
        await hub.close()
