"""Out of the officer's focus, the booth's camera is sent at a lower bitrate.

A real branch server, a real hub-side aiortc peer and the booth agent with the moving test
pattern: before any Attention the booth's encoder runs at the unfocused cap; on
``Attention(focused=True)`` it goes back to the full rate, on ``focused=False`` down
again, each time from the next frame; the bytes a frame costs on the wire follow; and the
hub reads the capture-time code of every frame it decodes at either rate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from booth import limits
from booth.agent import BoothAgent
from booth.bitrate import CappedVp8Encoder
from hardware.camera import SourceTrack
from signaling import protocol as p
from tests.booth.branch import Branch
from tests.booth.hubpeer import until

pytestmark = pytest.mark.slow

SETTLE_FRAMES = 10  # after a switch: the keyframe of the new encoder, rate control settling
WINDOW_FRAMES = 45  # three seconds of video at 15 fps


async def bytes_sent(agent: BoothAgent) -> int:
    assert agent.peer is not None
    stats = await agent.peer.pc.getStats()
    return sum(s.bytesSent for s in stats.values()
               if s.type == "outbound-rtp" and getattr(s, "kind", "") == "video")


async def bytes_per_frame(agent: BoothAgent) -> float:
    """What one frame costs on the wire, over WINDOW_FRAMES frames after SETTLE_FRAMES."""
    assert agent.peer is not None
    track = agent.peer.track
    assert isinstance(track, SourceTrack)
    start = track.frames_sent
    await until(lambda: track.frames_sent >= start + SETTLE_FRAMES, "the switch to settle")
    first, frames0 = await bytes_sent(agent), track.frames_sent
    await until(lambda: track.frames_sent >= frames0 + WINDOW_FRAMES, "a window of frames")
    return (await bytes_sent(agent) - first) / (track.frames_sent - frames0)


def encoder(agent: BoothAgent) -> CappedVp8Encoder:
    assert agent.peer is not None and agent.peer.encoder is not None
    return agent.peer.encoder


def encoding_at(agent: BoothAgent, rate: int | None) -> bool:
    codec = encoder(agent).codec
    if codec is None or codec.bit_rate is None:
        return False
    if rate is None:
        return codec.bit_rate > limits.UNFOCUSED_VIDEO_BITRATE
    return codec.bit_rate == rate


async def test_the_booths_video_rate_follows_the_officers_attention(
    branch: Branch, tmp_path: Path,
) -> None:
    hub = branch.hub()
    agent = branch.booth(tmp_path)
    try:
        await hub.open()
        await agent.start()
        await until(lambda: agent.state.value == "in_call", "the call")
        pairing = hub.pairings["booth-01"].pairing

        # Nobody has focused this booth yet: the tile's rate.
        await until(lambda: encoding_at(agent, limits.UNFOCUSED_VIDEO_BITRATE), "the cap")
        tile = await bytes_per_frame(agent)

        await hub.send(p.Attention(peer="booth-01", pairing=pairing, focused=True))
        await until(lambda: agent.booth.focused, "the booth focused")
        await until(lambda: encoding_at(agent, None), "the full rate on the next frame")
        focused = await bytes_per_frame(agent)

        await hub.send(p.Attention(peer="booth-01", pairing=pairing, focused=False))
        await until(lambda: encoding_at(agent, limits.UNFOCUSED_VIDEO_BITRATE), "the cap again")
        tile_again = await bytes_per_frame(agent)

        fps = agent.config.fps
        cap_per_frame = limits.UNFOCUSED_VIDEO_BITRATE / 8 / fps
        assert tile < 1.5 * cap_per_frame and tile_again < 1.5 * cap_per_frame, (
            tile, tile_again, cap_per_frame)
        assert focused > 1.3 * max(tile, tile_again), (tile, focused, tile_again)
        # The hub measures latency on every frame at either rate.
        assert hub.timecodes > 3 * WINDOW_FRAMES
        assert hub.unreadable == 0
    finally:
        await agent.stop()
        await hub.close()
