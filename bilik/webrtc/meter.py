"""Frame rate and capture-to-decode latency of one received video stream.

A pure core: the caller passes every time in (milliseconds on the wall clock both
ends share), so the meter is tested without waiting. The hub feeds it one call per
decoded frame: the capture time read from the picture's timecode and the time the
frame came out of the decoder.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from bilik.webrtc import limits


def capture_time_ms(timecode: int, now_ms: int, *, loop_ms: int = limits.REPLAY_LOOP_MS) -> int:
    """The capture time a frame's timecode stands for.

    A live source writes its capture time (ms since the epoch). A replayed loop writes
    its position in a ``loop_ms`` slot of the wall clock (see ``REPLAY_LOOP_MS``): the
    capture time is the latest instant at or before ``now_ms`` with that position.
    """
    if timecode >= loop_ms:
        return timecode
    return now_ms - ((now_ms - timecode) % loop_ms)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted, non-empty list."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class MeterReading:
    frames: int  # decoded frames since the start
    unreadable: int  # decoded frames whose timecode could not be read
    implausible: int  # frames whose latency was negative or absurd (clocks disagree)
    fps: float  # over the last window
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    last_frame_ms: int | None


class FrameMeter:
    """Counts decoded frames and keeps the latest latencies of one stream."""

    def __init__(
        self,
        *,
        window_s: float = limits.METER_WINDOW_S,
        samples: int = limits.METER_LATENCY_SAMPLES,
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_ms = window_s * 1000.0
        self.frames = 0
        self.unreadable = 0
        self.implausible = 0
        self._times: deque[int] = deque()
        self._latencies: deque[tuple[int, float]] = deque(maxlen=samples)  # (decoded, ms)
        self._first_ms: int | None = None
        self.last_frame_ms: int | None = None

    def arrived(self, now_ms: int) -> None:
        """Record one frame counted without decoding it (a hub that forwards video):
        it counts for the frame rate; there is no latency to measure."""
        self._count(now_ms)

    def frame(self, decoded_ms: int, capture_ms: int | None) -> float | None:
        """Record one decoded frame; returns its latency in ms if it could be measured."""
        self._count(decoded_ms)
        if capture_ms is None:
            self.unreadable += 1
            return None
        latency = float(decoded_ms - capture_ms)
        if not 0 <= latency <= limits.MAX_PLAUSIBLE_LATENCY_MS:
            self.implausible += 1
            return None
        self._latencies.append((decoded_ms, latency))
        return latency

    def _count(self, decoded_ms: int) -> None:
        self.frames += 1
        if self._first_ms is None:
            self._first_ms = decoded_ms
        self.last_frame_ms = decoded_ms
        self._times.append(decoded_ms)
        self._trim(decoded_ms)

    def _trim(self, now_ms: int) -> None:
        while self._times and self._times[0] <= now_ms - self.window_ms:
            self._times.popleft()

    def fps(self, now_ms: int) -> float:
        """Decoded frames a second over the last window (shorter at the start)."""
        self._trim(now_ms)
        if self._first_ms is None:
            return 0.0
        span = min(self.window_ms, now_ms - self._first_ms)
        if span <= 0:
            return 0.0
        return len(self._times) * 1000.0 / span

    def latencies(self, since_ms: int | None = None) -> list[float]:
        """Recent latencies in ms, of frames decoded at or after ``since_ms`` if given."""
        return [lat for at, lat in self._latencies if since_ms is None or at >= since_ms]

    def reading(self, now_ms: int, since_ms: int | None = None) -> MeterReading:
        """Counters, current frame rate, and latency percentiles (since ``since_ms``)."""
        ordered = sorted(self.latencies(since_ms))
        p50 = percentile(ordered, 50) if ordered else None
        p95 = percentile(ordered, 95) if ordered else None
        p99 = percentile(ordered, 99) if ordered else None
        return MeterReading(
            frames=self.frames,
            unreadable=self.unreadable,
            implausible=self.implausible,
            fps=round(self.fps(now_ms), 2),
            p50_ms=p50,
            p95_ms=p95,
            p99_ms=p99,
            last_frame_ms=self.last_frame_ms,
        )
