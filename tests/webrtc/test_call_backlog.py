"""The decoder backlog bound: a receiver short of CPU shows the present, not the past."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiortc.rtcrtpreceiver
import pytest
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from bilik.webrtc import backlog
from bilik.webrtc.backlog import DecodeBacklog, is_vp8_keyframe
from bilik.webrtc.connection import close_quietly, create_peer_connection, prefer_vp8
from tests.helpers import until

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, payloadType=111,
                             channels=2)
KEY, DELTA = b"\x10\x02\x00\x9d\x01\x2a", b"\x11\x02\x00"  # frame tag bit 0: 0 = key frame
WAIT_S = 20.0


def frame(data: bytes, ts: int) -> JitterFrame:
    return JitterFrame(data=data, timestamp=ts)


def queued(q: DecodeBacklog) -> list[int]:
    return [item[1].timestamp for item in list(q.queue) if item is not None]


def test_a_backlog_past_the_bound_is_dropped_and_decoding_restarts_at_a_keyframe() -> None:
    clock = [0.0]
    q = DecodeBacklog(3, monotonic=lambda: clock[0])
    event = threading.Event()
    q.decode_error = event
    for ts in range(3):  # the decoder is stuck: three frames wait
        q.put((VP8, frame(DELTA, ts)))
    q.put((VP8, frame(DELTA, 3)))  # the fourth: the three are dropped, and so is this delta
    assert queued(q) == [] and q.dropped == 4 and q.catch_ups == 1
    assert event.is_set()  # the sender is asked for a keyframe (aiortc sends a PLI)
    event.clear()
    q.put((VP8, frame(DELTA, 4)))  # still no keyframe; asked again only after a while
    assert not event.is_set() and q.dropped == 5
    clock[0] += 1.0
    q.put((VP8, frame(DELTA, 5)))
    assert event.is_set()
    q.put((VP8, frame(KEY, 6)))  # the keyframe: decoding starts again from it
    q.put((VP8, frame(DELTA, 7)))
    assert queued(q) == [6, 7] and not q.skipping


def test_audio_keeps_the_newest_and_the_end_of_stream_is_never_dropped() -> None:
    q = DecodeBacklog(2)
    q.put((OPUS, frame(b"a", 0)))
    q.put(None)
    q.put((OPUS, frame(b"b", 1)))
    q.put((OPUS, frame(b"c", 2)))  # past the bound: the two frames go, the end stays
    assert [x if x is None else x[1].timestamp for x in q.queue] == [None, 2]
    assert not q.skipping and q.dropped == 2


def test_keyframe_tag() -> None:
    assert is_vp8_keyframe(KEY) and not is_vp8_keyframe(DELTA) and not is_vp8_keyframe(b"")


class StallableDecoders:
    """aiortc's real VP8 decoder, which the test can hold (a machine out of CPU)."""

    def __init__(self, real: Callable[[Any], Any]) -> None:
        self.real = real
        self.go = threading.Event()
        self.go.set()
        self.held = threading.Event()  # set while a decode waits on ``go``
        self.decoded: list[bool] = []  # keyframe or not, for each frame decoded

    def __call__(self, codec: Any) -> Any:
        decoder = self.real(codec)
        outer = self

        class Held:
            def decode(self, encoded: JitterFrame) -> Any:
                if not outer.go.is_set():
                    outer.held.set()
                    outer.go.wait(WAIT_S)
                outer.decoded.append(is_vp8_keyframe(encoded.data))
                return decoder.decode(encoded)

        return Held()


@pytest.fixture
async def call(monkeypatch: pytest.MonkeyPatch
               ) -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection, StallableDecoders]]:
    decoders = StallableDecoders(aiortc.rtcrtpreceiver.get_decoder)
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", decoders)
    sender, receiver = create_peer_connection(), create_peer_connection()
    try:
        yield sender, receiver, decoders
    finally:
        decoders.go.set()
        await close_quietly(sender)
        await close_quietly(receiver)


async def test_a_receiver_that_falls_behind_skips_to_a_fresh_keyframe(
    call: tuple[RTCPeerConnection, RTCPeerConnection, StallableDecoders],
) -> None:
    sender, receiver, decoders = call
    camera = VideoStreamTrack()  # aiortc's own 30 fps source; keyframes only when asked
    prefer_vp8(sender.addTransceiver(camera, direction="sendonly"))
    received: list[Any] = []

    @receiver.on("track")
    def on_track(track: Any) -> None:
        async def consume() -> None:
            while True:
                try:
                    received.append(await track.recv())
                except Exception:
                    return
        asyncio.get_running_loop().create_task(consume())

    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    await until(lambda: len(received) >= 10, "video before the stall", WAIT_S)
    q = backlog.attach(receiver.getTransceivers()[0].receiver)
    assert q is not None and q.decode_error is not None  # attached by create_peer_connection

    decoders.go.clear()  # the decoder is starved of CPU from now on
    await until(decoders.held.is_set, "the decoder to be held", WAIT_S)
    await until(lambda: q.catch_ups >= 1, "the backlog to pass its bound", WAIT_S)
    decoded_at_stall = len(decoders.decoded)
    decoders.go.set()
    await until(lambda: len(decoders.decoded) >= decoded_at_stall + 10, "video after it", WAIT_S)

    # Nothing of the backlog was decoded late: after the held frame (index
    # decoded_at_stall, recorded once released), decoding went on from a fresh keyframe
    # (which the receiver asked the sender for), never from a stale delta frame.
    assert q.dropped >= backlog.limits.MAX_DECODE_BACKLOG_FRAMES
    assert decoders.decoded[decoded_at_stall + 1] is True
