"""Media the hub forwards as it was encoded: no decode, no re-encode.

Two directions, the same discipline (that of an SFU):

* :class:`ForwardedStream`: the officer's camera or microphone as the officer's browser
  encoded it, received on the console's peer connection and fanned out to the focused
  booth's :class:`~officer.returnmedia.ReturnTrack` (it stands beside the hub's own
  :class:`~officer.returnmedia.EncodedStream`, with the same subscriber interface, so a
  booth's return track switches between the card and the officer as before).
* :class:`ForwardTrack`: one track the hub sends to the console: a booth's video (one
  per seat) or the focused booth's voice. Its source can change (another booth takes the
  seat, focus moves); it then drops what comes until the new source's keyframe, which it
  asks for at once.

Timestamps: aiortc's sender stamps RTP from each packet's ``pts``. Each source's own RTP
timestamps are carried over through a :class:`Timeline`, anchored on the hub's wall
clock, which every stream the hub makes uses too, so a receiver's timeline stays
unbroken when its sender moves from one source to another. Keyframe requests go the
other way: a receiver's PLI/FIR reaches the source's encoder (the browser's, a booth's),
rate-limited.
"""

from __future__ import annotations

import fractions
import time
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from officer import limits
from officer.keyframes import KeyframeQueue, Throttle


class Subscriber(Protocol):
    """What a forwarded stream feeds: a booth's return track (officer.returnmedia)."""

    def deliver(self, stream: Any, packet: av.Packet, keyframe: bool) -> None: ...

VIDEO_RATE = 90_000
AUDIO_RATE = 48_000
_WRAP = 1 << 32


def rate_of(kind: str) -> int:
    return VIDEO_RATE if kind == "video" else AUDIO_RATE


class Timeline:
    """A source's RTP timestamps carried onto the hub's wall-clock timeline.

    A pure core: times are passed in. The first timestamp is anchored at ``now``; later
    ones move by their own difference (wrap-around handled), so the source's pacing is
    kept. When the mapped time drifts more than ``max_drift_s`` from ``now`` (a source
    that restarted, paused or whose clock runs off), it is anchored again.
    """

    def __init__(self, rate: int, max_drift_s: float = limits.FORWARD_MAX_DRIFT_S) -> None:
        self.rate = rate
        self.max_drift = round(max_drift_s * rate)
        self._source: int | None = None
        self._mapped = 0
        self._floor = -1  # after a reset, the next anchor comes after this
        self.anchors = 0

    def pts(self, source_ts: int, now_s: float) -> int:
        now = round(now_s * self.rate)
        if self._source is None:
            self._mapped = max(now, self._floor + 1)
            self.anchors += 1
        else:
            delta = (source_ts - self._source) % _WRAP
            if delta >= _WRAP // 2:
                delta -= _WRAP  # a packet older than the last (reordered audio)
            self._mapped += delta
            if abs(self._mapped - now) > self.max_drift:
                self._mapped = now
                self.anchors += 1
        self._source = source_ts
        return self._mapped

    def reset(self) -> None:
        """A new source follows: anchor it afresh, but after everything mapped so far (a
        receiver's timeline never steps back)."""
        if self._source is not None:
            self._floor = max(self._floor, self._mapped)
        self._source = None


def packet(data: bytes, pts: int, kind: str) -> av.Packet:
    out = av.Packet(data)
    out.pts = pts
    out.time_base = fractions.Fraction(1, rate_of(kind))
    return out


class ForwardStats:
    """What :class:`~officer.returnmedia.StreamStats` shows, for a forwarded stream."""

    def __init__(self) -> None:
        self.frames = 0
        self.keyframes = 0
        self.bytes = 0
        self.encode_s = 0.0  # nothing is encoded here: kept for one health shape


class ForwardedStream:
    """The officer's camera or microphone from the browser, fanned out undecoded.

    ``push`` is called on the event loop for every encoded frame (video) or packet
    (audio) the console's connection receives. ``ask_keyframe`` is wired by the console
    connection to a PLI towards the browser. :attr:`live` says whether media came within
    ``FORWARD_STALE_S`` (a camera unplugged or stopped sends nothing).
    """

    def __init__(self, name: str, kind: str, *,
                 wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.kind = kind
        self.wall = wall
        self.monotonic = monotonic
        self.stats = ForwardStats()
        self.timeline = Timeline(rate_of(kind))
        self.ask_keyframe: Callable[[], None] | None = None
        self.on_live: Callable[[], None] | None = None  # called when media starts coming
        self._subscribers: set[Subscriber] = set()
        self._last_at: float | None = None
        self._pli = Throttle(limits.FORWARD_KEYFRAME_MIN_INTERVAL_S, monotonic)

    # The EncodedStream interface the booths' ReturnTracks use.
    def start(self) -> None:
        pass

    def stop(self) -> None:
        self._subscribers.clear()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, track: Subscriber) -> None:
        self._subscribers.add(track)

    def unsubscribe(self, track: Subscriber) -> None:
        self._subscribers.discard(track)

    def request_keyframe(self) -> None:
        """Ask the browser's encoder for a keyframe (a PLI), rate-limited."""
        if self.kind == "video" and self.ask_keyframe is not None and self._pli.ready():
            self.ask_keyframe()

    @property
    def live(self) -> bool:
        return (self._last_at is not None
                and self.monotonic() - self._last_at <= limits.FORWARD_STALE_S)

    def connected(self, ask_keyframe: Callable[[], None] | None) -> None:
        """A (new) browser connection feeds this stream from now on."""
        self.ask_keyframe = ask_keyframe
        self.timeline.reset()
        self._last_at = None

    def disconnected(self) -> None:
        self.ask_keyframe = None
        self._last_at = None

    def push(self, data: bytes, source_ts: int, keyframe: bool) -> None:
        was_live = self.live
        self._last_at = self.monotonic()
        self.stats.frames += 1
        self.stats.bytes += len(data)
        if keyframe and self.kind == "video":
            self.stats.keyframes += 1
        out = packet(data, self.timeline.pts(source_ts, self.wall()), self.kind)
        for track in list(self._subscribers):
            track.deliver(self, out, keyframe)
        if not was_live and self.on_live is not None:
            self.on_live()


class ForwardTrack(MediaStreamTrack):
    """A track the hub sends to the console: whatever its current source forwards.

    ``source`` is any hashable key (the hub uses the booth's id); :meth:`push` with another
    key is ignored, so a booth that left the seat cannot leak into it. After
    :meth:`switch` (and at the start) video waits for a keyframe of the new source,
    asked for through ``ask_keyframe``.
    """

    def __init__(self, kind: str, name: str, *,
                 wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.kind = kind
        self.name = name
        self.wall = wall
        self.monotonic = monotonic
        self.source: Any = None
        self.ask_keyframe: Callable[[], None] | None = None
        self.timeline = Timeline(rate_of(kind))
        self._pending: KeyframeQueue[av.Packet] = KeyframeQueue(
            limits.FORWARD_QUEUE_PACKETS, needs_keyframes=kind == "video")
        self._pli = Throttle(limits.FORWARD_KEYFRAME_MIN_INTERVAL_S, monotonic)
        self.sent = 0
        self.sent_by_source: dict[str, int] = {}
        self.switched_at: float | None = None  # monotonic, until the new source's first packet
        self.on_switched: Callable[[ForwardTrack, float], None] | None = None

    def switch(self, source: Any, ask_keyframe: Callable[[], None] | None) -> None:
        """Forward ``source`` from now on (None: nothing)."""
        if source == self.source:
            self.ask_keyframe = ask_keyframe
            return
        self.source = source
        self.ask_keyframe = ask_keyframe
        self._pending.restart()
        self.timeline.reset()
        self.switched_at = self.monotonic() if source is not None else None
        self._pli.reset()
        self.picture_lost()

    @property
    def dropped(self) -> int:
        """Times the console's sender fell behind and the seat started again."""
        return self._pending.dropped

    def picture_lost(self) -> None:
        """The console's PLI/FIR, or a switch: ask the source for a keyframe, rate-limited."""
        if self.kind == "video" and self.ask_keyframe is not None and self._pli.ready():
            self.ask_keyframe()

    def push(self, source: Any, data: bytes, source_ts: int, keyframe: bool) -> None:
        if source != self.source or self.readyState != "live":
            return
        out = packet(data, self.timeline.pts(source_ts, self.wall()), self.kind)
        if not self._pending.offer(out, keyframe):
            self.picture_lost()

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        out = await self._pending.get()
        if self.readyState != "live":
            raise MediaStreamError
        self.sent += 1
        key = str(self.source)
        self.sent_by_source[key] = self.sent_by_source.get(key, 0) + 1
        if self.switched_at is not None:
            elapsed = self.monotonic() - self.switched_at
            self.switched_at = None
            if self.on_switched is not None:
                self.on_switched(self, elapsed)
        return out
