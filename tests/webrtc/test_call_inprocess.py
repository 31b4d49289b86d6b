"""A real call in one process: branch server, hub and booths over aiortc on loopback.

Faster to run than the process-level tests in test_call_processes.py and able to look
inside each part; the process-level tests show the same from the outside.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from booth.agent import BoothAgent, CallState
from booth.config import BoothConfig
from booth.replay import encode_loop
from hardware.emulators.button import IDENT, ButtonEmulator
from officer import console
from officer.config import HubConfig
from officer.hub import Hub
from officer.peers import SlotState
from signaling import protocol as p
from signaling.config import ServerConfig
from tests.helpers import ServerBranch, until

pytestmark = pytest.mark.slow

WAIT_S = 60.0  # generous: the machine is shared and the first keyframe may need a PLI


class Branch(ServerBranch):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, ServerConfig(data_dir=data_dir, resume_window_s=30.0,
                                                heartbeat_s=1.0))
        self.parts: list[Hub | BoothAgent] = []

    async def hub(self, device: str = "hub-01", **settings: object) -> Hub:
        # The hub reads every booth's timecode, and is its own (synthetic) officer.
        settings = {"synthetic_officer": True, "inspect_video": True, **settings}
        config = HubConfig(server=self.url, metrics_port=0, **settings)  # type: ignore[arg-type]
        hub = Hub(config, self.token(device, "hub"))
        self.parts.append(hub)
        await hub.start()
        await hub.wait_connected(WAIT_S)
        return hub

    async def booth(self, device: str, **settings: object) -> BoothAgent:
        settings.setdefault("flow", "direct")  # these booths ask for any officer at once
        config = BoothConfig(server=self.url, id=device, **settings)  # type: ignore[arg-type]
        booth = BoothAgent(config, self.token(device, "booth"))
        self.parts.append(booth)
        await booth.start()
        await booth.wait_connected(WAIT_S)
        return booth

    async def close(self) -> None:
        for part in reversed(self.parts):
            await part.stop()


@pytest.fixture
async def branch(tmp_path: Path) -> AsyncIterator[Branch]:
    b = Branch(tmp_path)
    await b.start()
    try:
        yield b
    finally:
        await b.close()
        await b.stop()


def frames(hub: Hub, booth: str) -> int:
    return sum(p.meter.frames for p in hub.peers.values() if p.booth == booth)


def receiving(hub: Hub, booth: str, at_least: int = 20) -> Callable[[], bool]:
    return lambda: frames(hub, booth) >= at_least


async def test_two_booths_stream_timecoded_video_to_the_hub(branch: Branch) -> None:
    hub = await branch.hub()
    one = await branch.booth("booth-01")
    two = await branch.booth("booth-02")
    await until(receiving(hub, "booth-01"), "video from booth-01")
    await until(receiving(hub, "booth-02"), "video from booth-02")
    assert one.state is CallState.IN_CALL and two.state is CallState.IN_CALL
    for peer in hub.peers.values():
        reading = peer.meter.reading(int(time.time() * 1000))
        assert peer.state is SlotState.RECEIVING
        assert reading.unreadable == 0, "every decoded frame must carry a readable timecode"
        assert reading.p50_ms is not None and reading.p50_ms > 0
    health = hub.health()
    assert set(health["booths"]) == {"booth-01", "booth-02"}
    assert health["slots_free"] == 4


async def test_stopped_booth_frees_its_slot_and_the_other_keeps_streaming(
    branch: Branch,
) -> None:
    hub = await branch.hub(media_offline_s=1.5)
    one = await branch.booth("booth-01")
    await branch.booth("booth-02")
    await until(receiving(hub, "booth-01"), "video from booth-01")
    await until(receiving(hub, "booth-02"), "video from booth-02")
    await one.stop()
    branch.parts.remove(one)
    await until(lambda: all(p.booth != "booth-01" for p in hub.peers.values()), "slot freed")
    assert hub.free_slots == hub.config.max_booths - 1
    before = frames(hub, "booth-02")
    await until(receiving(hub, "booth-02", before + 30), "booth-02 still streaming")


async def test_replayed_loop_reaches_the_hub_with_measured_latency(
    branch: Branch, tmp_path: Path
) -> None:
    loop_file = tmp_path / "loop.ivf"
    encode_loop(loop_file)
    hub = await branch.hub()
    await branch.booth("booth-01", source="replay", replay_file=loop_file)
    await until(receiving(hub, "booth-01", 30), "replayed video")
    (peer,) = hub.peers.values()
    reading = peer.meter.reading(int(time.time() * 1000))
    assert reading.unreadable == 0
    assert reading.implausible == 0
    assert reading.p50_ms is not None and 0 < reading.p50_ms < 8000


async def test_a_full_hub_keeps_the_next_booth_waiting_until_a_slot_frees(
    branch: Branch,
) -> None:
    hub = await branch.hub(max_booths=1, media_offline_s=1.5)
    first = await branch.booth("booth-01")
    await until(receiving(hub, "booth-01", 5), "video from booth-01")
    second = await branch.booth("booth-02")
    await until(lambda: second.state is CallState.WAITING, "booth-02 waiting")
    assert [p.booth for p in hub.peers.values()] == ["booth-01"]
    await first.stop()
    branch.parts.remove(first)
    await until(receiving(hub, "booth-02", 5), "video from booth-02 in the freed slot")
    assert second.state is CallState.IN_CALL


async def test_a_pairing_beyond_capacity_is_refused_and_the_call_goes_on(
    branch: Branch,
) -> None:
    hub = await branch.hub(max_booths=1)
    await branch.booth("booth-01")
    await until(receiving(hub, "booth-01", 5), "video from booth-01")
    # A pairing the server should not have made (say, after a desync): the hub refuses it.
    await hub._on_message(p.Pair(pairing="p-extra", booth="booth-09", hub="hub-01"))
    assert [peer.booth for peer in hub.peers.values()] == ["booth-01"]
    assert b"bilik_hub_pairings_refused_total 1.0" in hub.metrics.render()
    before = frames(hub, "booth-01")
    await until(receiving(hub, "booth-01", before + 15), "booth-01 still streaming")


async def test_the_hand_button_raises_the_hand_on_the_officers_tile(
    branch: Branch, tmp_path: Path,
) -> None:
    """The push-button, through its emulator on a pty, the booth agent, the server and the
    hub, to the hand mark the console draws on the booth's tile (its state feed)."""
    emulator = ButtonEmulator()
    try:
        hub = await branch.hub()
        agent = await branch.booth("booth-01", hand_button=emulator.path,
                                   data_dir=tmp_path / "booth-01")
        await until(lambda: frames(hub, "booth-01") > 3, "booth-01's video at the hub")
        await until(lambda: agent.hand_button is not None and agent.hand_button.ident == IDENT,
                    "the button's self-test")

        def tile() -> dict[str, object]:
            return next(b for b in console.state(hub)["booths"] if b["booth"] == "booth-01")

        assert tile()["hand"]["raised"] is False  # type: ignore[index]
        emulator.click()  # the participant presses the button
        await until(lambda: tile()["hand"]["raised"] is True,  # type: ignore[index]
                    "the hand on booth-01's tile")
        emulator.click()
        await until(lambda: tile()["hand"]["raised"] is False,  # type: ignore[index]
                    "the hand lowered on the tile")
        await agent.stop()  # before its button goes away
        branch.parts.remove(agent)
    finally:
        emulator.close()
