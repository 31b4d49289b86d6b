"""One booth's call slot on the hub: its peer connection, frame meter, return media and state.

The booth's video is not decoded: each encoded frame, as it leaves aiortc's jitter buffer,
is counted by the slot's :class:`FrameMeter` (frame rate; "lost" when frames stop) and
forwarded to the officer's console (its seat's :class:`~officer.forward.ForwardTrack`).
With ``inspect_video`` (tests, benchmarks) every frame is also decoded in aiortc's decoder
thread and its timecode read (a few dozen pixels, about 0.1 ms on the event loop) for the
capture-to-decode latency. :meth:`HubPeer.check` says whether the slot should be freed:
video stopped for longer than the media offline timeout, a call not up in time, or a
failed connection.

Return media: for each video and audio section of the booth's offer the slot adds a
:class:`~officer.returnmedia.ReturnTrack` fed by a shared stream (the officer's camera
and microphone when the booth is in focus, the card and silence otherwise). The booth's
audio: each packet's level (RFC 6464, :mod:`bilik.webrtc.audiolevel`) drives the
"speaking" mark; the focused booth's packets are forwarded, undecoded, to the console's
headset track. Audio is decoded only for a booth whose packets carry no level (the mark).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bilik.webrtc import audiolevel, backlog, jitter
from bilik.webrtc.connection import (
    add_candidate,
    close_quietly,
    create_peer_connection,
    prefer_vp8,
    set_remote,
)
from bilik.webrtc.meter import FrameMeter, capture_time_ms
from hardware.testpattern import TimecodeError, read_frame_timecode
from officer import limits
from officer.forward import ForwardTrack
from officer.metrics import HubMetrics
from officer.recording import SessionRecording, Track
from officer.returnmedia import ReturnStreams, ReturnTrack, hook_keyframe_requests
from officer.voice import VoiceActivity, level_dbfs

log = logging.getLogger(__name__)


class SlotState(enum.StrEnum):
    WAITING_OFFER = "waiting_offer"  # paired, the booth's offer has not come yet
    CONNECTING = "connecting"  # answered, no video yet
    RECEIVING = "receiving"  # video decoded
    LOST = "lost"  # video stopped: the booth may come back within the grace period
    CLOSED = "closed"


class DropReason(enum.StrEnum):
    MEDIA_TIMEOUT = "media_timeout"
    NEGOTIATION_TIMEOUT = "negotiation_timeout"
    CONNECTION_FAILED = "connection_failed"
    RELEASED = "released"
    REPLACED = "replaced"
    SHUTDOWN = "shutdown"


@dataclass
class RxAccount:
    """Bytes received from a booth, and over how many seconds."""

    bytes: int = 0
    seconds: float = 0.0

    def add(self, count: int, seconds: float) -> None:
        self.bytes += count
        self.seconds += seconds

    def as_json(self) -> dict[str, float]:
        return {"bytes": self.bytes, "seconds": round(self.seconds, 3)}


class HubPeer:
    def __init__(
        self,
        pairing: str,
        booth: str,
        *,
        metrics: HubMetrics,
        media_offline_s: float = limits.MEDIA_OFFLINE_TIMEOUT_S,
        negotiation_timeout_s: float = limits.NEGOTIATION_TIMEOUT_S,
        lost_grace_s: float = limits.LOST_GRACE_S,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        streams: ReturnStreams | None = None,
        inspect_video: bool = False,
        on_switched: Callable[[ReturnTrack, float], None] | None = None,
    ) -> None:
        self.pairing = pairing
        self.booth = booth
        self.metrics = metrics
        self.media_offline_s = media_offline_s
        self.negotiation_timeout_s = negotiation_timeout_s
        self.lost_grace_s = lost_grace_s
        self.clock = clock
        self.monotonic = monotonic
        self.state = SlotState.WAITING_OFFER
        self.meter = FrameMeter()
        self.pc: RTCPeerConnection | None = None
        self.created_at = monotonic()
        self.last_frame_at: float | None = None
        self.negotiations = 0
        self._consumers: set[asyncio.Task[None]] = set()
        self.streams = streams
        self.inspect_video = inspect_video
        self.on_switched = on_switched
        self.focused = False
        # What the console shows of this booth.
        self.slot = 0  # 1..6, the officer's key for it
        self.ticket = ""
        self.number = ""
        self.service = ""
        self.paired_at = clock()
        self.last_attended: float | None = None  # monotonic; None: never attended
        self.hand: dict[str, object] = {"raised": False, "reason": "", "at": None}
        self.documents: dict[str, dict[str, object]] = {}
        # What OCR read from each document (by document id), and the mismatches between
        # the claim's documents, from the server (officer.desk.Desk.load_readings).
        self.readings: dict[str, dict[str, object]] = {}
        self.reading_flags: list[dict[str, object]] = []
        self.parked = False
        self.away_since: float | None = None  # monotonic; None while the seat is occupied
        # The queue's alert about this booth's ticket (an appointment at risk), shown on the
        # tile until the officer attends the booth.
        self.sla_alert: dict[str, object] | None = None
        # A device of the booth failed during this session (the server's device_fault
        # alert): the session goes on, the booth leaves service after it.
        self.device_fault: dict[str, object] | None = None
        self.rx_bytes = 0  # from aiortc's transport stats, refreshed by the hub
        # The same bytes split by whether this booth was in focus while they came (booths
        # out of focus may send smaller video): bytes and seconds, per state.
        self.rx_focused = RxAccount()
        self.rx_waiting = RxAccount()
        self._rx_at: float | None = None
        self.return_tracks: list[ReturnTrack] = []
        # The console's tracks this booth feeds (set by the hub): its seat's video, and the
        # officer's headset while it is in focus.
        self.seat_out: ForwardTrack | None = None
        self.voice_out: ForwardTrack | None = None
        self._video_queue: backlog.DecodeBacklog | None = None
        self.voice = VoiceActivity()
        self.audio_frames = 0  # decoded audio frames
        self.audio_levels = 0  # packets whose level (RFC 6464) was read
        self.level_at: float | None = None  # monotonic time of the latest such packet
        self.heard_packets = 0  # audio packets forwarded to the officer's headset
        # The session's recording while consent allows (officer.recordings): it gets a
        # copy of every packet in both directions, as encoded.
        self.recording: SessionRecording | None = None
        # The participant's answer to the recording consent (None: not asked or not yet).
        self.consent: dict[str, object] | None = None

    # -- the participant ------------------------------------------------------------------

    def seat(self, occupied: bool) -> None:
        """The booth says its participant sat down (``True``) or stepped away (``False``).

        Away is stamped once: a repeated "away" keeps the first time, so the tile counts
        from when the chair emptied, not from the booth's latest word.
        """
        if occupied:
            self.away_since = None
        elif self.away_since is None:
            self.away_since = self.monotonic()

    def away_s(self) -> float | None:
        """Seconds the participant has been away, or ``None`` while seated."""
        if self.away_since is None:
            return None
        return max(0.0, self.monotonic() - self.away_since)

    # -- negotiation ----------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Answer the booth's offer; a second offer replaces the connection (booth restarted)."""
        if self.pc is not None:
            await self._close_pc()
        pc = create_peer_connection()
        self._video_queue = None
        self.pc = pc
        self.negotiations += 1
        self.created_at = self.monotonic()
        self.last_frame_at = None

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                for transceiver in pc.getTransceivers():
                    if transceiver.receiver.track is track:
                        self._read_levels(transceiver.receiver)
                consume = self._consume_audio(track)
            elif track.kind == "video":
                for transceiver in pc.getTransceivers():
                    if transceiver.receiver.track is track:
                        jitter.verify_receiver(transceiver.receiver)
                        self._tap_video(transceiver.receiver)
                consume = self._consume(track)
            else:
                return
            task = asyncio.get_running_loop().create_task(
                consume, name=f"hub-{track.kind}-{self.booth}"
            )
            self._consumers.add(task)
            task.add_done_callback(self._consumers.discard)

        await set_remote(pc, offer_sdp, "offer")
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                prefer_vp8(transceiver)
        self._add_return_media(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        self.state = SlotState.CONNECTING
        return pc.localDescription.sdp

    def _add_return_media(self, pc: RTCPeerConnection) -> None:
        """One shared-stream track per media section the booth offered."""
        for track in self.return_tracks:
            track.stop()
        self.return_tracks = []
        if self.streams is None:
            return
        kinds = {t.kind for t in pc.getTransceivers()}
        for kind in ("video", "audio"):
            if kind not in kinds:
                continue
            track = ReturnTrack(
                kind,
                self.streams.for_booth(kind, self.focused),
                name=f"{kind}->{self.booth}",
                on_switched=self.on_switched,
                monotonic=self.monotonic,
            )
            track.on_sent = self._returned
            sender = pc.addTrack(track)
            hook_keyframe_requests(sender, track)
            self.return_tracks.append(track)

    def _returned(self, track: ReturnTrack, packet: av.Packet) -> None:
        """What the booth is sent (the officer, or the card and silence), for the recording."""
        recording = self.recording
        if recording is not None and packet.pts is not None:
            video = track.kind == "video"
            data = bytes(packet)
            recording.add(Track.OFFICER_VIDEO if video else Track.OFFICER_AUDIO, data,
                          packet.pts, not video or backlog.is_vp8_keyframe(data))

    def set_focus(self, focused: bool) -> None:
        """Send this booth the officer (focused) or the card and silence (not)."""
        self.focused = focused
        if self.streams is None:
            return
        for track in self.return_tracks:
            track.switch(self.streams.for_booth(track.kind, focused))

    async def add_candidate(self, candidate: str, sdp_mid: str | None, index: int | None) -> None:
        if self.pc is not None:
            await add_candidate(self.pc, candidate, sdp_mid, index)

    # -- media ----------------------------------------------------------------------------

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.on_frame(frame)

    async def _consume_audio(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.AudioFrame):
                self.on_audio(frame)

    def _tap_video(self, receiver: RTCRtpReceiver) -> None:
        """Every encoded frame to :meth:`on_encoded`; decoded only with ``inspect_video``."""
        queue = backlog.of(receiver)
        if queue is None:  # pragma: no cover - create_peer_connection installs it
            return
        queue.on_encoded = self.on_encoded
        queue.video_wanted = lambda: self.inspect_video
        self._video_queue = queue

    def ask_keyframe(self) -> None:
        """A keyframe from the booth (the console's seat switched to it, or lost a picture)."""
        if self._video_queue is not None:
            self._video_queue.ask_keyframe()

    def on_encoded(self, frame: object) -> None:
        """A complete encoded frame from the booth (aiortc's JitterFrame), on the event loop."""
        data: bytes = frame.data  # type: ignore[attr-defined]
        if not self.inspect_video:
            self._arrived(int(self.clock() * 1000))
        seat = self.seat_out
        keyframe = backlog.is_vp8_keyframe(data)
        if seat is not None:
            seat.push(self.booth, data, frame.timestamp, keyframe)  # type: ignore[attr-defined]
        if self.recording is not None:
            self.recording.add(Track.BOOTH_VIDEO, data, frame.timestamp,  # type: ignore[attr-defined]
                               keyframe)

    def _arrived(self, now_ms: int) -> None:
        self.last_frame_at = self.monotonic()
        self.state = SlotState.RECEIVING
        self.meter.arrived(now_ms)
        self.metrics.frames.labels(self.booth).inc()

    def _read_levels(self, receiver: RTCRtpReceiver) -> None:
        """The speaking mark from each packet's audio level; the packets to the headset
        while in focus; decoded only when no level comes."""
        audiolevel.watch(receiver, self.on_level, on_packet=self.on_audio_packet)
        queue = backlog.of(receiver)
        if queue is not None:
            queue.audio_wanted = self.wants_audio_decoded

    def on_audio_packet(self, packet: object) -> None:
        voice = self.voice_out
        payload: bytes = packet.payload  # type: ignore[attr-defined]
        if self.recording is not None and payload:
            self.recording.add(Track.BOOTH_AUDIO, payload,
                               packet.timestamp, True)  # type: ignore[attr-defined]
        if voice is not None and payload:
            voice.push(self.booth, payload, packet.timestamp, True)  # type: ignore[attr-defined]
            self.heard_packets += 1

    def on_level(self, level_db: float) -> None:
        """A packet's audio level, as the booth measured it before encoding."""
        self.audio_levels += 1
        self.level_at = self.monotonic()
        self.voice.update(level_db, self.level_at)

    def levels_fresh(self) -> bool:
        return (self.level_at is not None
                and self.monotonic() - self.level_at <= limits.AUDIO_LEVEL_FRESH_S)

    def wants_audio_decoded(self) -> bool:
        """Decode only for the mark, when packets carry no level (the headset gets the
        packets as they came). Called by aiortc's receiver per frame, on the event loop."""
        return not self.levels_fresh()

    def on_audio(self, frame: av.AudioFrame) -> None:
        """Decoded audio (no levels in the packets): the speaking mark from the samples."""
        self.audio_frames += 1
        if not self.levels_fresh():
            samples: np.ndarray = frame.to_ndarray()
            self.voice.update(level_dbfs(samples), self.monotonic())

    @property
    def speaking(self) -> bool:
        return self.voice.at(self.monotonic())

    def on_frame(self, frame: av.VideoFrame) -> None:
        """A decoded frame (``inspect_video`` only): its timecode gives the latency."""
        now_ms = int(self.clock() * 1000)
        self.last_frame_at = self.monotonic()
        self.state = SlotState.RECEIVING
        try:
            capture: int | None = capture_time_ms(read_frame_timecode(frame), now_ms)
        except TimecodeError:
            capture = None
            self.metrics.unreadable.labels(self.booth).inc()
        latency_ms = self.meter.frame(now_ms, capture)
        self.metrics.frames.labels(self.booth).inc()
        if latency_ms is not None:
            self.metrics.latency.labels(self.booth).observe(latency_ms / 1000)

    # -- health ---------------------------------------------------------------------------

    def check(self) -> DropReason | None:
        """Why this slot should be freed now, or ``None`` while it is healthy."""
        now = self.monotonic()
        if self.pc is not None and self.pc.connectionState in ("failed", "closed"):
            return DropReason.CONNECTION_FAILED
        if self.last_frame_at is not None:
            silent = now - self.last_frame_at
            if silent > self.media_offline_s + self.lost_grace_s:
                return DropReason.MEDIA_TIMEOUT
            if silent > self.media_offline_s:
                self.state = SlotState.LOST
        elif now - self.created_at > self.negotiation_timeout_s:
            return DropReason.NEGOTIATION_TIMEOUT
        return None

    def reading(self, since_ms: int | None = None) -> dict[str, object]:
        r = self.meter.reading(int(self.clock() * 1000), since_ms)
        return {
            "pairing": self.pairing,
            "state": self.state.value,
            "fps": r.fps,
            "frames": r.frames,
            "unreadable": r.unreadable,
            "p50_ms": r.p50_ms,
            "p95_ms": r.p95_ms,
            "p99_ms": r.p99_ms,
            "negotiations": self.negotiations,
            "rx_bytes": self.rx_bytes,
            "rx_focused": self.rx_focused.as_json(),
            "rx_waiting": self.rx_waiting.as_json(),
            "state_detail": {"focused": self.focused, "speaking": self.speaking,
                             "audio_frames": self.audio_frames},
        }

    async def refresh_stats(self) -> None:
        """Bytes received from the booth so far (aiortc's transport statistics: all media)."""
        if self.pc is None:
            return
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind != "video":
                continue
            report = await transceiver.receiver.getStats()
            for stat in report.values():
                if getattr(stat, "type", "") == "transport":
                    self.count_rx(int(getattr(stat, "bytesReceived", 0) or 0))

    def count_rx(self, total_bytes: int) -> None:
        """Take the transport's byte count; the bytes and time since the last count go to
        the focused or the waiting account, by the focus now (refreshed every half second,
        so a switch blurs at most one interval)."""
        now = self.monotonic()
        if self._rx_at is not None and total_bytes >= self.rx_bytes:
            account = self.rx_focused if self.focused else self.rx_waiting
            account.add(total_bytes - self.rx_bytes, now - self._rx_at)
        self.rx_bytes = total_bytes
        self._rx_at = now

    # -- teardown -------------------------------------------------------------------------

    async def _close_pc(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_quietly(pc)
        for task in list(self._consumers):
            task.cancel()
        if self._consumers:
            await asyncio.gather(*self._consumers, return_exceptions=True)

    async def close(self) -> None:
        self.state = SlotState.CLOSED
        for track in self.return_tracks:
            track.stop()
        self.seat_out = self.voice_out = None
        with contextlib.suppress(Exception):
            await self._close_pc()
