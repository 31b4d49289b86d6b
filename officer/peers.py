"""One booth's call slot on the hub: a receive-only peer connection and its frame meter.

Every decoded frame's timecode is read (a few dozen pixels: cheap enough for the event
loop, about 0.1 ms) and fed to the slot's :class:`FrameMeter`; decoding itself happens
in aiortc's decoder thread. :meth:`HubPeer.check` says whether the slot should be freed:
video stopped for longer than the media offline timeout, a call not up in time, or a
failed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable

import av
from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from bilik.webrtc import jitter
from bilik.webrtc.connection import close_quietly, create_peer_connection, prefer_vp8
from bilik.webrtc.meter import FrameMeter, capture_time_ms
from hardware.testpattern import TimecodeError, read_frame_timecode
from officer import limits
from officer.metrics import HubMetrics

log = logging.getLogger(__name__)


class SlotState(enum.StrEnum):
    WAITING_OFFER = "waiting_offer"  # paired, the booth's offer has not come yet
    CONNECTING = "connecting"  # answered, no video yet
    RECEIVING = "receiving"  # video decoded
    CLOSED = "closed"


class DropReason(enum.StrEnum):
    MEDIA_TIMEOUT = "media_timeout"
    NEGOTIATION_TIMEOUT = "negotiation_timeout"
    CONNECTION_FAILED = "connection_failed"
    RELEASED = "released"
    REPLACED = "replaced"
    SHUTDOWN = "shutdown"


class HubPeer:
    def __init__(
        self,
        pairing: str,
        booth: str,
        *,
        metrics: HubMetrics,
        media_offline_s: float = limits.MEDIA_OFFLINE_TIMEOUT_S,
        negotiation_timeout_s: float = limits.NEGOTIATION_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pairing = pairing
        self.booth = booth
        self.metrics = metrics
        self.media_offline_s = media_offline_s
        self.negotiation_timeout_s = negotiation_timeout_s
        self.clock = clock
        self.monotonic = monotonic
        self.state = SlotState.WAITING_OFFER
        self.meter = FrameMeter()
        self.pc: RTCPeerConnection | None = None
        self.created_at = monotonic()
        self.last_frame_at: float | None = None
        self.negotiations = 0
        self._consumers: set[asyncio.Task[None]] = set()

    # -- negotiation ----------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Answer the booth's offer; a second offer replaces the connection (booth restarted)."""
        if self.pc is not None:
            await self._close_pc()
        pc = create_peer_connection()
        self.pc = pc
        self.negotiations += 1
        self.created_at = self.monotonic()
        self.last_frame_at = None

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "video":
                return
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    jitter.verify_receiver(transceiver.receiver)
            task = asyncio.get_running_loop().create_task(
                self._consume(track), name=f"hub-video-{self.booth}"
            )
            self._consumers.add(task)
            task.add_done_callback(self._consumers.discard)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                prefer_vp8(transceiver)
        await pc.setLocalDescription(await pc.createAnswer())
        self.state = SlotState.CONNECTING
        return pc.localDescription.sdp

    async def add_candidate(self, candidate: str, sdp_mid: str | None, index: int | None) -> None:
        if self.pc is None or not candidate:
            return
        ice: RTCIceCandidate = candidate_from_sdp(candidate.removeprefix("candidate:"))
        ice.sdpMid = sdp_mid
        ice.sdpMLineIndex = index
        await self.pc.addIceCandidate(ice)

    # -- media ----------------------------------------------------------------------------

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.on_frame(frame)

    def on_frame(self, frame: av.VideoFrame) -> None:
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
            if now - self.last_frame_at > self.media_offline_s:
                return DropReason.MEDIA_TIMEOUT
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
        }

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
        with contextlib.suppress(Exception):
            await self._close_pc()
