"""A pre-encoded VP8 loop of the test pattern, and the track that replays it in real time.

Replaying spares the booth its encoder: on a small machine that runs six booths and the
hub together (the call benchmark), the hub is then measured rather than six encoders
competing for the same cores.

Frame ``k`` of the loop carries the timecode ``k`` frame periods (ms), and the track
sends it at the wall-clock instant that is ``k`` frame periods into a
``REPLAY_LOOP_MS`` slot of the epoch. The hub recovers the send time from the timecode
alone (:func:`bilik.webrtc.meter.capture_time_ms`); latency then covers packetising,
transport, jitter buffer and decoding, but not encoding.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from pathlib import Path

import av
from aiortc.mediastreams import (
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    MediaStreamError,
    MediaStreamTrack,
)

from bilik.webrtc import limits as media
from booth import limits
from booth.errors import ReplayError
from hardware.testpattern import TestPattern

log = logging.getLogger(__name__)

LOOP_BITRATE = 500_000  # aiortc's own starting VP8 bitrate
KEYFRAME_EVERY_S = 1  # a receiver that lost a frame recovers at the next keyframe


def loop_frames(fps: int) -> int:
    frames, rest = divmod(media.REPLAY_LOOP_MS * fps, 1000)
    if rest:
        raise ReplayError(f"{fps} fps does not divide a {media.REPLAY_LOOP_MS} ms replay loop")
    return frames


def encode_loop(
    path: Path,
    *,
    fps: int = media.VIDEO_FPS,
    width: int = media.VIDEO_WIDTH,
    height: int = media.VIDEO_HEIGHT,
) -> int:
    """Write the test-pattern loop as VP8 in an IVF file; returns the number of frames."""
    count = loop_frames(fps)
    pattern = TestPattern(width, height)
    with av.open(str(path), "w", format="ivf") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = LOOP_BITRATE
        stream.codec_context.gop_size = fps * KEYFRAME_EVERY_S
        stream.codec_context.options = {
            "deadline": "realtime",
            "cpu-used": "-6",
            "lag-in-frames": "0",
        }
        for k in range(count):
            frame = pattern.frame(round(k * 1000 / fps))  # position in the loop, ms
            frame.pts = k
            frame.time_base = fractions.Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return count


class ReplayLoop:
    """The encoded frames of a loop file, checked: VP8, the expected length, keyframe first."""

    def __init__(self, frames: list[bytes], keyframes: set[int], fps: int) -> None:
        expected = loop_frames(fps)
        if len(frames) != expected:
            raise ReplayError(
                f"replay loop has {len(frames)} frames; {fps} fps needs {expected} "
                f"({media.REPLAY_LOOP_MS} ms)"
            )
        if 0 not in keyframes:
            raise ReplayError("replay loop does not start with a keyframe")
        self.frames = frames
        self.keyframes = keyframes
        self.fps = fps

    @classmethod
    def load(cls, path: Path, fps: int = media.VIDEO_FPS) -> ReplayLoop:
        if not path.is_file():
            raise ReplayError(f"replay file {path} does not exist")
        if path.stat().st_size > limits.REPLAY_MAX_BYTES:
            raise ReplayError(f"replay file {path} is larger than {limits.REPLAY_MAX_BYTES} bytes")
        frames: list[bytes] = []
        keyframes: set[int] = set()
        try:
            with av.open(str(path), "r") as container:
                stream = container.streams.video[0]
                if stream.codec_context.name not in ("vp8", "libvpx"):
                    raise ReplayError(
                        f"replay file {path} holds {stream.codec_context.name}, not VP8"
                    )
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    if packet.is_keyframe:
                        keyframes.add(len(frames))
                    frames.append(bytes(packet))
        except (av.FFmpegError, IndexError) as exc:
            raise ReplayError(f"replay file {path} is not a readable VP8 video: {exc}") from None
        if len(frames) < limits.REPLAY_MIN_FRAMES:
            raise ReplayError(f"replay file {path} has only {len(frames)} frames")
        return cls(frames, keyframes, fps)


class ReplayTrack(MediaStreamTrack):
    """Sends a :class:`ReplayLoop` in order, each frame at its wall-clock slot."""

    kind = "video"

    def __init__(self, loop: ReplayLoop, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.loop = loop
        self.clock = clock
        self.period_ms = 1000 / loop.fps
        self._n: int | None = None  # global slot number of the next frame
        self.frames_sent = 0

    def _first_slot(self, now_ms: float) -> int:
        # Start on a keyframe, so the receiver can decode from the first frame sent.
        n = int(now_ms // self.period_ms) + 1
        count = len(self.loop.frames)
        while (n % count) not in self.loop.keyframes:
            n += 1
        return n

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        now_ms = self.clock() * 1000
        if self._n is None:
            self._n = self._first_slot(now_ms)
        n = self._n
        self._n += 1
        # Never skip a frame, even when late: the next VP8 frame needs this one.
        delay = (n * self.period_ms - now_ms) / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        packet = av.Packet(self.loop.frames[n % len(self.loop.frames)])
        packet.pts = round(n * self.period_ms * VIDEO_CLOCK_RATE / 1000)
        packet.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return packet
