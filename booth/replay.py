"""A pre-encoded VP8 loop of the test pattern, at two sizes, and the track that replays it.

Replaying spares the booth its encoder: on a small machine that runs six booths and the
hub together (the call benchmark), the hub is then measured rather than six encoders
competing for the same cores.

Like a live booth (``booth/bitrate.py``), a replayed booth sends the full picture (640x480
at 500 kbps) while the officer attends it, and the picture scaled to fit
``UNFOCUSED_VIDEO_SIZE`` (320x240 at ``UNFOCUSED_VIDEO_BITRATE``) while it is only a tile.
:func:`encode_loop` writes both from one rendering of each frame: the full loop at the path
given and the small one beside it (:func:`small_loop_path`: ``loop.ivf`` ->
``loop.small.ivf``), with keyframes forced at the same positions, every
``REPLAY_KEYFRAME_EVERY_S``. :class:`ReplayTrack` moves from one loop to the other only
at a keyframe of the loop it moves to (a VP8 decoder cannot take a delta frame of another
size), so a change of focus shows within one keyframe interval.

Frame ``k`` of either loop carries the timecode ``k`` frame periods (ms), and the track
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
from dataclasses import dataclass
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
from booth.bitrate import capped_size
from booth.errors import ReplayError
from hardware.testpattern import TestPattern

log = logging.getLogger(__name__)


def loop_frames(fps: int) -> int:
    frames, rest = divmod(media.REPLAY_LOOP_MS * fps, 1000)
    if rest:
        raise ReplayError(f"{fps} fps does not divide a {media.REPLAY_LOOP_MS} ms replay loop")
    return frames


def keyframe_interval(fps: int) -> int:
    """Frames from one keyframe of a loop to the next (8 at 15 fps: 533 ms)."""
    return max(1, round(fps * limits.REPLAY_KEYFRAME_EVERY_S))


def small_loop_path(path: Path) -> Path:
    """The out-of-focus loop beside the loop at ``path``: ``loop.ivf`` -> ``loop.small.ivf``."""
    return path.with_name(f"{path.stem}.small{path.suffix}")


def _vp8_stream(
    container: av.container.OutputContainer, fps: int, width: int, height: int, bitrate: int,
) -> av.video.stream.VideoStream:
    stream = container.add_stream("libvpx", rate=fps)
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.bit_rate = bitrate
    # Keyframes only where encode_loop forces them, at the same frames in both loops.
    stream.codec_context.gop_size = loop_frames(fps) + 1
    stream.codec_context.options = {
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",
    }
    return stream


def encode_loop(
    path: Path,
    *,
    fps: int = media.VIDEO_FPS,
    width: int = media.VIDEO_WIDTH,
    height: int = media.VIDEO_HEIGHT,
) -> int:
    """Write the test-pattern loop as VP8 in an IVF file at ``path``, and its out-of-focus
    size at :func:`small_loop_path`; returns the number of frames of each."""
    count = loop_frames(fps)
    every = keyframe_interval(fps)
    small_width, small_height = capped_size(width, height)
    pattern = TestPattern(width, height)
    with av.open(str(path), "w", format="ivf") as full, \
            av.open(str(small_loop_path(path)), "w", format="ivf") as small:
        outputs = (
            (full, _vp8_stream(full, fps, width, height, limits.REPLAY_BITRATE)),
            (small, _vp8_stream(small, fps, small_width, small_height,
                                limits.UNFOCUSED_VIDEO_BITRATE)),
        )
        for k in range(count):
            frame = pattern.frame(round(k * 1000 / fps))  # position in the loop, ms
            scaled = frame.reformat(width=small_width, height=small_height)
            for picture, (container, stream) in zip((frame, scaled), outputs, strict=True):
                picture.pts = k
                picture.time_base = fractions.Fraction(1, fps)
                picture.pict_type = (av.video.frame.PictureType.I if k % every == 0
                                     else av.video.frame.PictureType.NONE)
                for packet in stream.encode(picture):
                    container.mux(packet)
        for container, stream in outputs:
            for packet in stream.encode(None):
                container.mux(packet)
    return count


@dataclass(frozen=True)
class EncodedLoop:
    """The encoded frames of one loop file, at one size."""

    frames: list[bytes]
    keyframes: frozenset[int]
    width: int
    height: int

    @classmethod
    def read(cls, path: Path, what: str) -> EncodedLoop:
        if not path.is_file():
            raise ReplayError(f"{what} {path} does not exist")
        if path.stat().st_size > limits.REPLAY_MAX_BYTES:
            raise ReplayError(f"{what} {path} is larger than {limits.REPLAY_MAX_BYTES} bytes")
        frames: list[bytes] = []
        keyframes: set[int] = set()
        try:
            with av.open(str(path), "r") as container:
                stream = container.streams.video[0]
                if stream.codec_context.name not in ("vp8", "libvpx"):
                    raise ReplayError(
                        f"{what} {path} holds {stream.codec_context.name}, not VP8"
                    )
                width, height = stream.codec_context.width, stream.codec_context.height
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    if packet.is_keyframe:
                        keyframes.add(len(frames))
                    frames.append(bytes(packet))
        except (av.FFmpegError, IndexError) as exc:
            raise ReplayError(f"{what} {path} is not a readable VP8 video: {exc}") from None
        if len(frames) < limits.REPLAY_MIN_FRAMES:
            raise ReplayError(f"{what} {path} has only {len(frames)} frames")
        return cls(frames, frozenset(keyframes), width, height)


class ReplayLoop:
    """The two loops of a replay, checked: VP8, the expected length, keyframe first, and the
    small loop the out-of-focus size of the full one with keyframes at the same frames."""

    def __init__(self, full: EncodedLoop, small: EncodedLoop, fps: int) -> None:
        expected = loop_frames(fps)
        for what, loop in (("replay loop", full), ("out-of-focus replay loop", small)):
            if len(loop.frames) != expected:
                raise ReplayError(
                    f"{what} has {len(loop.frames)} frames; {fps} fps needs {expected} "
                    f"({media.REPLAY_LOOP_MS} ms)"
                )
            if 0 not in loop.keyframes:
                raise ReplayError(f"{what} does not start with a keyframe")
        if (small.width, small.height) != capped_size(full.width, full.height):
            raise ReplayError(
                f"out-of-focus replay loop is {small.width}x{small.height}; the "
                f"{full.width}x{full.height} loop needs "
                "{}x{}".format(*capped_size(full.width, full.height))
            )
        if small.keyframes != full.keyframes:
            raise ReplayError("the out-of-focus replay loop's keyframes are not at the "
                              "full loop's frames")
        self.full = full
        self.small = small
        self.fps = fps

    @classmethod
    def load(cls, path: Path, fps: int = media.VIDEO_FPS) -> ReplayLoop:
        """The loop at ``path`` and its out-of-focus loop beside it (:func:`small_loop_path`),
        both written by ``bilik booth make-replay PATH``."""
        full = EncodedLoop.read(path, "replay file")
        small_path = small_loop_path(path)
        try:
            small = EncodedLoop.read(small_path, "out-of-focus replay file")
        except ReplayError as exc:
            raise ReplayError(f"{exc}; write both loops again with "
                              f"`bilik booth make-replay {path}`") from None
        return cls(full, small, fps)


class ReplayTrack(MediaStreamTrack):
    """Sends a :class:`ReplayLoop` in order, each frame at its wall-clock slot.

    ``small()`` (read once a frame; ``None``: never) says whether the booth is out of the
    officer's focus: the small loop is then sent, else the full one. The track moves to the
    other loop at that loop's next keyframe.
    """

    kind = "video"

    def __init__(
        self,
        loop: ReplayLoop,
        *,
        clock: Callable[[], float] = time.time,
        small: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.loop = loop
        self.clock = clock
        self.small = small
        self.period_ms = 1000 / loop.fps
        self._n: int | None = None  # global slot number of the next frame
        self._sending: EncodedLoop | None = None
        self.frames_sent = 0
        self.switches = 0  # moves from one loop to the other

    def _wanted(self) -> EncodedLoop:
        return self.loop.small if self.small is not None and self.small() else self.loop.full

    def _first_slot(self, now_ms: float, loop: EncodedLoop) -> int:
        # Start on a keyframe, so the receiver can decode from the first frame sent.
        n = int(now_ms // self.period_ms) + 1
        count = len(loop.frames)
        while (n % count) not in loop.keyframes:
            n += 1
        return n

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        now_ms = self.clock() * 1000
        if self._n is None:
            self._sending = self._wanted()
            self._n = self._first_slot(now_ms, self._sending)
        n = self._n
        self._n += 1
        # Never skip a frame, even when late: the next VP8 frame needs this one.
        delay = (n * self.period_ms - now_ms) / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        position = n % len(self.loop.full.frames)
        wanted = self._wanted()
        if wanted is not self._sending and position in wanted.keyframes:
            self._sending = wanted
            self.switches += 1
        assert self._sending is not None
        packet = av.Packet(self._sending.frames[position])
        packet.pts = round(n * self.period_ms * VIDEO_CLOCK_RATE / 1000)
        packet.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return packet
