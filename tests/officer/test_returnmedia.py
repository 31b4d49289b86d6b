"""Return media: a booth's track that waits for a keyframe which never reaches it asks again.

A real shared stream (libvpx through PyAV, keyframes only on request) feeds a real
:class:`ReturnTrack`; between them the test puts its own lossy path that drops
keyframes, as a lost packet or a request made between two frames would. Without the
re-ask the track would wait for the encoder's next scheduled keyframe, which with
keyframes only on request never comes: the booth would show a black picture.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import av
import numpy as np
import pytest

from officer import limits
from officer.returnmedia import EncodedStream, ReturnTrack
from tests.helpers import until

WIDTH, HEIGHT, FPS = 160, 120, 15.0
WAIT_S = 30.0


class MovingPicture:
    """A small picture that changes every frame, so that every delta frame has content."""

    kind = "video"
    period_s = 1 / FPS

    def __init__(self) -> None:
        self.n = 0

    def produce(self, at: float) -> av.VideoFrame:
        self.n += 1
        image = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
        image[:, (self.n * 7) % WIDTH] = 255
        image[..., 1] = (self.n * 3) % 256
        return av.VideoFrame.from_ndarray(image, format="bgr24")

    def close(self) -> None:
        pass


class LossyPath:
    """Stands between the shared stream and one track, losing the next ``lose`` keyframes.

    To the track it looks like its stream (subscribe, unsubscribe, request_keyframe,
    name); to the stream it is one subscriber.
    """

    def __init__(self, stream: EncodedStream, lose: float) -> None:
        self.stream = stream
        self.name = stream.name
        self.lose = lose
        self.track: ReturnTrack | None = None
        self.requests = 0
        self.lost = 0
        self.deltas = 0

    def subscribe(self, track: ReturnTrack) -> None:
        self.track = track
        self.stream.subscribe(self)  # type: ignore[arg-type]

    def unsubscribe(self, track: ReturnTrack) -> None:
        self.stream.unsubscribe(self)  # type: ignore[arg-type]

    def request_keyframe(self) -> None:
        self.requests += 1
        self.stream.request_keyframe()

    def deliver(self, stream: EncodedStream, packet: av.Packet, keyframe: bool) -> None:
        if keyframe and self.lose > 0:
            self.lose -= 1
            self.lost += 1
            return
        if not keyframe:
            self.deltas += 1
        assert self.track is not None
        self.track.deliver(cast(EncodedStream, self), packet, keyframe)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def stream() -> AsyncIterator[EncodedStream]:
    s = EncodedStream("officer-video", MovingPicture(), bitrate=200_000)
    s.start()
    try:
        yield s
    finally:
        s.stop()


async def test_a_track_whose_keyframe_is_lost_asks_again_and_gets_a_picture(
    stream: EncodedStream,
) -> None:
    path = LossyPath(stream, lose=2)
    track = ReturnTrack("video", cast(EncodedStream, path), name="video->booth-01")
    try:
        first = await asyncio.wait_for(track.recv(), WAIT_S)
    finally:
        track.stop()
    assert path.lost == 2
    # Asked on subscribing, then again after each lost keyframe.
    assert path.requests >= 3
    # What the booth gets first decodes on its own: it is a keyframe, not a delta frame
    # out of context.
    decoder = av.CodecContext.create("vp8", "r")
    pictures = decoder.decode(first)
    assert len(pictures) == 1
    assert (pictures[0].width, pictures[0].height) == (WIDTH, HEIGHT)


async def test_re_asks_are_rate_limited_per_track(stream: EncodedStream) -> None:
    clock = Clock()
    path = LossyPath(stream, lose=float("inf"))
    track = ReturnTrack("video", cast(EncodedStream, path), name="video->booth-01",
                        monotonic=clock)
    receiving = asyncio.get_running_loop().create_task(track.recv())
    try:
        # Many delta frames while waiting, the clock standing still: one re-ask only
        # (beside the request made on subscribing).
        await until(lambda: path.deltas >= 10, "delta frames while waiting")
        assert path.requests == 2
        # Once the minimum interval has passed, the next delta frame asks again.
        clock.now += limits.KEYFRAME_REQUEST_MIN_INTERVAL_S + 0.01
        deltas = path.deltas
        await until(lambda: path.deltas > deltas + 5, "more delta frames")
        assert path.requests == 3
        assert not receiving.done()  # every keyframe was lost: nothing to send yet
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        track.stop()
