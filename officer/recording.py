"""A session's recording: both directions' audio and video, muxed as they were encoded.

The hub already holds every encoded frame of a call: the booth's VP8 frames and Opus
packets as they arrive (:meth:`officer.peers.HubPeer.on_encoded`, the audio packet tap),
and what each booth is sent back (the officer's camera and microphone, or the card and
silence: :class:`~officer.returnmedia.ReturnTrack`). A :class:`SessionRecording` takes a
copy of each and PyAV muxes them into one WebM file (Matroska: VP8 + Opus) **without
decoding or encoding anything**. Four tracks, in this order:

======  =================  ===========================================================
index   name               what
======  =================  ===========================================================
0       ``booth-video``    the participant's camera, as the booth encoded it
1       ``booth-audio``    the participant's microphone
2       ``officer-video``  what the booth was shown: the officer, or the card
3       ``officer-audio``  what the booth heard: the officer, or silence
======  =================  ===========================================================

Timestamps: each track's own timestamps (RTP, or the return packets' pts) are carried
onto the hub's wall clock by a :class:`~officer.forward.Timeline`, as the forwarding
does, so the four tracks share one timeline that starts at the recording's wall-clock
start (the file's ``creation_time``). The booth, the officer, the ticket and the pairing
are the file's tags.

A hub crash: the muxer runs in its own thread and closes a Matroska cluster every
``RECORDING_CLUSTER_MS`` and flushes the file after each, so a killed hub leaves a file
that plays up to the last cluster; what was in memory (at most a cluster and the
interleaving window, ``RECORDING_INTERLEAVE_S``) is lost.
"""

from __future__ import annotations

import contextlib
import enum
import fractions
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from officer import limits
from officer.errors import OfficerError
from officer.forward import Timeline, rate_of

log = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)  # Matroska's own time base: everything is in milliseconds
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RecordingError(OfficerError):
    """A recording cannot be written or read back."""


class Track(enum.IntEnum):
    """The file's tracks, in their order in the file."""

    BOOTH_VIDEO = 0
    BOOTH_AUDIO = 1
    OFFICER_VIDEO = 2
    OFFICER_AUDIO = 3

    @property
    def kind(self) -> str:
        return "video" if self in (Track.BOOTH_VIDEO, Track.OFFICER_VIDEO) else "audio"

    @property
    def title(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True)
class RecordingInfo:
    """Who and what a recording is of: the file's tags."""

    booth: str
    officer: str
    ticket: str
    pairing: str
    started_at: float  # wall clock, epoch seconds

    @property
    def started_iso(self) -> str:
        return datetime.fromtimestamp(self.started_at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def file_name(self) -> str:
        """``<ticket>_<booth>_<UTC start>.webm``, safe for any file system."""
        stamp = datetime.fromtimestamp(self.started_at, UTC).strftime("%Y%m%dT%H%M%SZ")
        ticket = _SAFE.sub("-", self.ticket or self.pairing)[:64]
        return f"{ticket}_{_SAFE.sub('-', self.booth)[:64]}_{stamp}.webm"

    def tags(self) -> dict[str, str]:
        return {"title": f"Bilik session {self.ticket} at {self.booth}",
                "booth": self.booth, "officer": self.officer, "ticket": self.ticket,
                "pairing": self.pairing, "creation_time": self.started_iso,
                "comment": "recorded by the Bilik hub from the packets of the call, "
                           "not re-encoded"}

    def to_json(self) -> dict[str, Any]:
        return {"booth": self.booth, "officer": self.officer, "ticket": self.ticket,
                "pairing": self.pairing, "started_at": self.started_at}

    @classmethod
    def from_json(cls, data: Any) -> RecordingInfo:
        try:
            return cls(str(data["booth"]), str(data["officer"]), str(data["ticket"]),
                       str(data["pairing"]), float(data["started_at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(f"recording description is malformed: {exc}") from None


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386, 9.1), else ``None``."""
    if len(data) < 10 or data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


def opus_head(channels: int = 2) -> bytes:
    """The Opus identification header (RFC 7845, 5.1), Matroska's CodecPrivate for Opus."""
    return (b"OpusHead" + bytes([1, channels]) + (312).to_bytes(2, "little")
            + (48_000).to_bytes(4, "little") + (0).to_bytes(2, "little") + bytes([0]))


@dataclass
class _Pending:
    """Packets held until the file's header can be written (both pictures' sizes known)."""

    packets: list[tuple[Track, bytes, int, bool]] = field(default_factory=list)
    sizes: dict[Track, tuple[int, int]] = field(default_factory=dict)


class RecordingWriter:
    """The muxer: one file, four tracks, packets in (track, data, ms, keyframe).

    Not thread-safe: one thread owns it (:class:`SessionRecording`'s writer thread, or
    a test). The header is written once both video tracks have had a keyframe (their
    sizes go in the header) or ``RECORDING_HEADER_WAIT_MS`` of media has been held; a
    video track's frames before its first keyframe are dropped (nothing could decode
    them).
    """

    def __init__(self, path: Path, info: RecordingInfo, *,
                 cluster_ms: int = limits.RECORDING_CLUSTER_MS) -> None:
        self.path = path
        self.info = info
        self.cluster_ms = cluster_ms
        self._pending: _Pending | None = _Pending()
        self._container: Any = None
        self._streams: dict[Track, Any] = {}
        self._last_ms: dict[Track, int] = {}
        self._keyed: set[Track] = set()
        self.packets = 0
        self.bytes = 0
        self.last_ms = 0

    def write(self, track: Track, data: bytes, ms: int, keyframe: bool) -> None:
        if not data or ms < 0:
            return
        if track.kind == "video" and track not in self._keyed:
            if not keyframe:
                return
            self._keyed.add(track)
        pending = self._pending
        if pending is not None:
            size = vp8_size(data) if track.kind == "video" and keyframe else None
            if size is not None:
                pending.sizes.setdefault(track, size)
            pending.packets.append((track, data, ms, keyframe))
            both = all(t in pending.sizes for t in (Track.BOOTH_VIDEO, Track.OFFICER_VIDEO))
            if both or ms - pending.packets[0][2] >= limits.RECORDING_HEADER_WAIT_MS:
                self._open(pending)
            return
        self._mux(track, data, ms, keyframe)

    def _open(self, pending: _Pending) -> None:
        self._pending = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            container = av.open(str(self.path), "w", format="webm", options={
                # A cluster at most this long, flushed to the file when it closes.
                "cluster_time_limit": str(self.cluster_ms),
                "cluster_size_limit": str(limits.RECORDING_CLUSTER_BYTES),
                "flush_packets": "1",
                # Write what is here rather than wait for a quiet track's next packet.
                "max_interleave_delta": str(round(limits.RECORDING_INTERLEAVE_S * 1e6)),
            })
        except (OSError, av.error.FFmpegError) as exc:
            raise RecordingError(f"cannot create the recording {self.path}: {exc}") from None
        self._container = container
        for key, value in self.info.tags().items():
            container.metadata[key] = value
        for track in Track:
            stream: Any
            if track.kind == "video":
                stream = container.add_stream("vp8", rate=limits.RECORDING_NOMINAL_FPS)
                width, height = pending.sizes.get(track, limits.RECORDING_DEFAULT_SIZE)
                stream.width, stream.height = width, height
            else:
                stream = container.add_stream("opus", rate=48_000)
                stream.layout = "stereo"
                stream.codec_context.extradata = opus_head()
            stream.time_base = MS
            stream.metadata["title"] = track.title
            self._streams[track] = stream
        for packet in sorted(pending.packets, key=lambda item: item[2]):
            self._mux(*packet)

    def _mux(self, track: Track, data: bytes, ms: int, keyframe: bool) -> None:
        last = self._last_ms.get(track)
        if last is not None and ms <= last:
            ms = last + 1  # one track's timestamps never step back
        self._last_ms[track] = ms
        packet = av.Packet(data)
        packet.pts = packet.dts = ms
        packet.time_base = MS
        packet.stream = self._streams[track]
        packet.is_keyframe = keyframe
        try:
            self._container.mux(packet)
        except av.error.FFmpegError as exc:
            log.warning("recording %s: a packet of %s not written: %s", self.path.name,
                        track.title, exc)
            return
        self.packets += 1
        self.bytes += len(data)
        self.last_ms = max(self.last_ms, ms)

    @property
    def started(self) -> bool:
        return self._container is not None

    def close(self) -> None:
        """Write what is held, the index and the duration; the file is complete."""
        pending = self._pending
        if pending is not None and pending.packets:
            self._open(pending)
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except av.error.FFmpegError as exc:
                raise RecordingError(f"cannot finish the recording {self.path}: {exc}") from None


@dataclass(frozen=True)
class RecordingResult:
    """A finished recording: the file, how long it is and how much was lost on the way."""

    path: Path
    info: RecordingInfo
    duration_s: float
    packets: int
    dropped: int


_STOP = object()


class SessionRecording:
    """One booth's session being recorded; fed on the event loop, written in a thread.

    The taps call :meth:`add` for every packet (cheap: a timestamp and a queue put). The
    queue is bounded (``RECORDING_QUEUE_PACKETS``): when the disk cannot keep up, packets
    are dropped and counted rather than the hub's memory growing; a video track then
    waits for its next keyframe.
    """

    def __init__(self, directory: Path, info: RecordingInfo, *,
                 wall: Callable[[], float] = time.time) -> None:
        self.info = info
        self.wall = wall
        self.path = directory / info.file_name()
        self.writer = RecordingWriter(self.path, info)
        self._timelines = {track: Timeline(rate_of(track.kind)) for track in Track}
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=limits.RECORDING_QUEUE_PACKETS)
        self._broken: set[Track] = set()  # video tracks that lost a packet: wait for a key
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.error: str = ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"hub-record:{self.info.booth}",
                                        daemon=True)
        self._thread.start()

    def add(self, track: Track, data: bytes, source_ts: int, keyframe: bool) -> None:
        """A packet of ``track``; ``source_ts`` in the track's own clock (RTP or pts)."""
        if self._thread is None or not data:
            return
        at = self._timelines[track].pts(source_ts, self.wall())
        ms = round(at * 1000 / self._timelines[track].rate - self.info.started_at * 1000)
        if track in self._broken:
            if not keyframe:
                return
            self._broken.discard(track)
        try:
            self._queue.put_nowait((track, bytes(data), ms, keyframe))
        except queue.Full:
            self.dropped += 1
            if track.kind == "video":
                self._broken.add(track)

    def _run(self) -> None:
        writer = self.writer
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            if self.error:
                continue
            try:
                writer.write(*item)
            except RecordingError as exc:
                self.error = str(exc)
                log.error("%s", exc)
        try:
            writer.close()
        except RecordingError as exc:
            self.error = self.error or str(exc)
            log.error("%s", exc)

    def stop(self) -> RecordingResult:
        """Finish the file (blocking: call it off the event loop)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(limits.THREAD_JOIN_TIMEOUT_S * 5)
            if thread.is_alive():  # pragma: no cover - a disk that hangs
                log.error("recording thread of %s did not stop", self.info.booth)
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return RecordingResult(self.path, self.info, self.writer.last_ms / 1000,
                               self.writer.packets, self.dropped)


def probe(path: Path) -> dict[str, Any]:
    """What a recording holds (tests, the console): tags, tracks, duration in seconds."""
    try:
        container = av.open(str(path))
    except (OSError, av.error.FFmpegError) as exc:
        raise RecordingError(f"cannot open the recording {path}: {exc}") from None
    with container:
        tracks: list[dict[str, Any]] = []
        for stream in container.streams:
            tracks.append({"kind": stream.type, "codec": stream.codec_context.name,
                           "title": stream.metadata.get("title", ""), "packets": 0,
                           "first_s": None, "last_s": None})
        for packet in container.demux():
            if packet.pts is None or packet.size == 0:
                continue
            t = tracks[packet.stream.index]
            at = float(packet.pts * packet.time_base)
            t["packets"] += 1
            t["first_s"] = at if t["first_s"] is None else min(t["first_s"], at)
            t["last_s"] = at if t["last_s"] is None else max(t["last_s"], at)
        tags = {k.lower(): v for k, v in container.metadata.items()}
        ends = [t["last_s"] for t in tracks if t["last_s"] is not None]
        return {"tags": tags, "tracks": tracks, "duration_s": max(ends) if ends else 0.0,
                "format": container.format.name}
