"""Forwarding without decoding: timelines, switching at keyframes, keyframe requests."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from officer import limits
from officer.forward import ForwardedStream, ForwardTrack, Timeline

KEY = b"\x10\x02\x00\x9d\x01\x2a"  # bit 0 of the first byte clear: a VP8 keyframe
DELTA = b"\x11\x02\x00"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_timeline_keeps_the_sources_pacing_on_the_wall_clock() -> None:
    line = Timeline(90_000)
    first = line.pts(5_000, 100.0)
    assert first == 9_000_000
    assert line.pts(5_000 + 3_000, 100.5) == first + 3_000  # the source's pacing, not arrival's
    # Wrap-around of the 32-bit RTP clock.
    line = Timeline(90_000)
    start = line.pts((1 << 32) - 1_500, 10.0)
    assert line.pts(1_500, 10.0) == start + 3_000
    # After a reset (another source), the next anchor never steps back, even when the
    # wall clock is behind what was mapped.
    line = Timeline(90_000)
    ahead = line.pts(0, 20.0) + 90_000
    line.pts(90_000, 20.0)
    line.reset()
    assert line.pts(123, 19.5) == ahead + 1
    # A reordered audio packet maps before the last one.
    line = Timeline(48_000)
    start = line.pts(960 * 10, 1.0)
    assert line.pts(960 * 9, 1.0) == start - 960


def test_a_timeline_anchors_again_when_the_source_jumps() -> None:
    line = Timeline(90_000, max_drift_s=1.0)
    line.pts(0, 50.0)
    # The source restarted its clock: 40 s of timestamps in 20 ms of wall time.
    jumped = line.pts(40 * 90_000, 50.02)
    assert jumped == round(50.02 * 90_000) and line.anchors == 2


async def test_a_forward_track_waits_for_a_keyframe_and_asks_for_one() -> None:
    clock = Clock()
    asked: list[str] = []
    track = ForwardTrack("video", "seat-1", wall=clock, monotonic=clock)
    track.switch("b1", lambda: asked.append("b1"))
    assert asked == ["b1"]  # at once, on the switch
    track.push("b1", DELTA, 0, False)  # no keyframe yet: dropped, asked again (rate-limited)
    assert asked == ["b1"]
    clock.now += limits.FORWARD_KEYFRAME_MIN_INTERVAL_S
    track.push("b1", DELTA, 0, False)
    assert asked == ["b1", "b1"]
    track.push("b2", KEY, 0, True)  # not this seat's booth: ignored
    track.push("b1", KEY, 3_000, True)
    track.push("b1", DELTA, 6_000, False)
    first, second = await track.recv(), await track.recv()
    assert bytes(first) == KEY and bytes(second) == DELTA
    assert second.pts - first.pts == 3_000
    # Another booth takes the seat: what was queued goes, and its keyframe is awaited.
    track.push("b1", DELTA, 9_000, False)
    track.switch("b2", lambda: asked.append("b2"))
    track.push("b2", DELTA, 0, False)
    track.push("b2", KEY, 100, True)
    out = await track.recv()
    assert bytes(out) == KEY and out.pts > second.pts
    assert track.sent_by_source == {"b1": 2, "b2": 1}
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_a_forward_track_that_falls_behind_starts_again_at_a_keyframe() -> None:
    clock = Clock()
    track = ForwardTrack("video", "seat-1", wall=clock, monotonic=clock)
    track.switch("b1", lambda: None)
    track.push("b1", KEY, 0, True)
    for n in range(limits.FORWARD_QUEUE_PACKETS + 3):
        track.push("b1", DELTA, 3_000 * (n + 1), False)
    assert track.dropped == 1
    track.push("b1", KEY, 999_000, True)
    assert bytes(await asyncio.wait_for(track.recv(), 1)) == KEY
    track.stop()


async def test_audio_needs_no_keyframe_and_follows_the_focus() -> None:
    clock = Clock()
    voice = ForwardTrack("audio", "voice", wall=clock, monotonic=clock)
    voice.switch("b1", None)
    voice.push("b1", b"opus-1", 960, True)
    voice.switch("b2", None)
    voice.push("b1", b"opus-late", 1920, True)  # the old booth's packet: not heard
    voice.push("b2", b"opus-2", 5000, True)
    assert bytes(await voice.recv()) == b"opus-2"
    voice.stop()


def test_a_forwarded_stream_is_live_while_media_comes_and_asks_keyframes_sparingly() -> None:
    clock = Clock()
    asked: list[int] = []
    camera = ForwardedStream("officer-camera", "video", wall=clock, monotonic=clock)
    assert not camera.live
    camera.connected(lambda: asked.append(1))
    woke: list[int] = []
    camera.on_live = lambda: woke.append(1)
    camera.push(KEY, 0, True)
    assert camera.live and woke == [1] and camera.stats.keyframes == 1
    camera.request_keyframe()
    camera.request_keyframe()
    assert asked == [1]
    clock.now += limits.FORWARD_STALE_S + 0.01
    assert not camera.live  # the camera stopped sending
    camera.push(DELTA, 3_000, False)
    assert camera.live and woke == [1, 1]
    camera.disconnected()
    camera.request_keyframe()
    assert asked == [1] and not camera.live
