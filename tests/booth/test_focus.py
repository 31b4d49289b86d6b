"""Out of the officer's focus, the booth's camera is sent at half size and a lower bitrate.

A real branch server, a real hub-side aiortc peer and the booth agent with the moving test
pattern: before any Attention the booth's encoder runs at the unfocused cap and the hub
decodes 320x240; on ``Attention(focused=True)`` it goes back to the full rate and 640x480,
on ``focused=False`` down again, each time from the next frame; the bytes a frame costs on
the wire follow; and the hub reads the capture-time code of every frame it decodes at
either size.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from aiortc.codecs.vpx import Vp8Decoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame

from booth import limits
from booth.agent import BoothAgent
from booth.bitrate import CappedVp8Encoder
from hardware.camera import SourceTrack
from hardware.testpattern import TestPattern
from signaling import protocol as p
from tests.booth.branch import Branch
from tests.booth.hubpeer import HubPeer
from tests.helpers import until

SETTLE_FRAMES = 10  # after a switch: the keyframe of the new encoder, rate control settling
WINDOW_FRAMES = 45  # three seconds of video at 15 fps
FULL = (640, 480)
TILE = limits.UNFOCUSED_VIDEO_SIZE


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


def encoding_at(agent: BoothAgent, rate: int | None, size: tuple[int, int]) -> bool:
    codec = encoder(agent).codec
    if codec is None or codec.bit_rate is None or (codec.width, codec.height) != size:
        return False
    if rate is None:
        return codec.bit_rate > limits.UNFOCUSED_VIDEO_BITRATE
    return codec.bit_rate == rate


def hub_decodes(hub: HubPeer, size: tuple[int, int]) -> bool:
    return hub.booth_video_sizes[-1:] == [size]


@pytest.mark.slow
async def test_the_booths_video_size_and_rate_follow_the_officers_attention(
    branch: Branch, tmp_path: Path,
) -> None:
    hub = branch.hub()
    agent = branch.booth(tmp_path)
    try:
        await hub.open()
        await agent.start()
        await until(lambda: agent.state.value == "in_call", "the call")
        pairing = hub.pairings["booth-01"].pairing

        # Nobody has focused this booth yet: the tile's size and rate.
        await until(lambda: encoding_at(agent, limits.UNFOCUSED_VIDEO_BITRATE, TILE), "the cap")
        tile = await bytes_per_frame(agent)
        await until(lambda: hub_decodes(hub, TILE), "the hub decoding the tile's size")

        await hub.send(p.Attention(peer="booth-01", pairing=pairing, focused=True))
        await until(lambda: agent.booth.focused, "the booth focused")
        await until(lambda: encoding_at(agent, None, FULL), "the full picture on the next frame")
        focused = await bytes_per_frame(agent)
        await until(lambda: hub_decodes(hub, FULL), "the hub decoding the full size")

        await hub.send(p.Attention(peer="booth-01", pairing=pairing, focused=False))
        await until(lambda: encoding_at(agent, limits.UNFOCUSED_VIDEO_BITRATE, TILE),
                    "the cap again")
        tile_again = await bytes_per_frame(agent)
        await until(lambda: hub_decodes(hub, TILE), "the hub decoding the tile's size again")

        fps = agent.config.fps
        cap_per_frame = limits.UNFOCUSED_VIDEO_BITRATE / 8 / fps
        assert tile < 1.5 * cap_per_frame and tile_again < 1.5 * cap_per_frame, (
            tile, tile_again, cap_per_frame)
        assert focused > 1.3 * max(tile, tile_again), (tile, focused, tile_again)
        # Each switch came as one change of size at the hub (a keyframe at the new size),
        # and the hub measured latency on every frame at either size.
        assert hub.booth_video_sizes == [TILE, FULL, TILE]
        assert hub.unreadable == 0
        assert hub.timecodes_by_size[TILE] > 2 * WINDOW_FRAMES
        assert hub.timecodes_by_size[FULL] > WINDOW_FRAMES
    finally:
        await agent.stop()
        await hub.close()


def test_out_of_focus_a_camera_keeps_its_shape_and_a_small_one_its_size() -> None:
    """A 16:9 camera is sent at 320x180, not squeezed into 320x240; a picture that already
    fits the tile is not scaled up; focused, every picture goes at its own size."""
    focused = [False]
    encoder = CappedVp8Encoder(lambda: None if focused[0] else limits.UNFOCUSED_VIDEO_BITRATE)
    decoder = Vp8Decoder()

    def sent_size(width: int, height: int, pts: int) -> tuple[int, int]:
        big = TestPattern(max(width, 640), max(height, 480)).frame(1_760_000_000_000 + pts)
        frame = big.reformat(width=width, height=height)  # a camera smaller than the pattern
        frame.pts, frame.time_base = pts, Fraction(1, 90_000)
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(vp8_depayload(payload) for payload in payloads)
        (decoded,) = decoder.decode(JitterFrame(data=data, timestamp=timestamp))
        assert isinstance(decoded, av.VideoFrame)
        return decoded.width, decoded.height

    assert sent_size(1280, 720, 0) == (320, 180)
    assert sent_size(640, 480, 6000) == TILE
    assert sent_size(320, 240, 12000) == TILE
    focused[0] = True
    assert sent_size(1280, 720, 18000) == (1280, 720)
    assert sent_size(640, 480, 24000) == FULL
