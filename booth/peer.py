"""The booth's side of one call: camera and microphone to the paired hub, the officer back.

The booth is the offerer; video and audio are offered send-receive, so the hub can answer
with the officer's picture and voice (or receive only). Incoming tracks go to
``on_track``. aiortc gathers every ICE candidate before
``setLocalDescription`` returns, so the offer carries them; candidates the hub
trickles anyway are added with ``addIceCandidate``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamTrack

from bilik.webrtc.connection import (
    add_candidate,
    close_quietly,
    create_peer_connection,
    prefer_vp8,
    set_remote,
)
from booth.bitrate import Cap, CappedVp8Encoder, cap_sender

log = logging.getLogger(__name__)


class PeerState(enum.StrEnum):
    NEW = "new"  # built, no offer yet
    OFFERED = "offered"  # offer sent, waiting for the answer
    CONNECTING = "connecting"  # answer applied, ICE/DTLS under way
    CONNECTED = "connected"  # media flowing
    FAILED = "failed"  # the connection broke; the agent starts again
    CLOSED = "closed"


class BoothPeer:
    """One RTCPeerConnection sending ``track`` to ``hub`` for ``pairing``."""

    def __init__(
        self,
        pairing: str,
        hub: str,
        track: MediaStreamTrack,
        *,
        on_state: Callable[[BoothPeer], None] | None = None,
        audio: MediaStreamTrack | None = None,
        on_track: Callable[[MediaStreamTrack], None] | None = None,
        video_cap: Cap | None = None,
    ) -> None:
        self.pairing = pairing
        self.hub = hub
        self.track = track
        self.audio = audio
        self.on_state = on_state
        self.video_cap = video_cap
        self.encoder: CappedVp8Encoder | None = None
        self.state = PeerState.NEW
        self.pc = create_peer_connection()
        self.pc.on("connectionstatechange", self._connection_state)
        if on_track is not None:
            self.pc.on("track", on_track)

    @property
    def alive(self) -> bool:
        return self.state not in (PeerState.FAILED, PeerState.CLOSED)

    def _set(self, state: PeerState) -> None:
        if state is self.state or self.state is PeerState.CLOSED:
            return
        log.info(
            "call %s", state.value, extra={"fields": {"pairing": self.pairing, "hub": self.hub}}
        )
        self.state = state
        if self.on_state is not None:
            self.on_state(self)

    async def _connection_state(self) -> None:
        pc_state = self.pc.connectionState
        if pc_state == "connected":
            self._set(PeerState.CONNECTED)
        elif pc_state in ("failed", "closed"):
            self._set(PeerState.FAILED if pc_state == "failed" else PeerState.CLOSED)

    async def offer(self) -> str:
        """Create the offer (VP8 video, Opus audio, both send-receive) and return its SDP."""
        transceiver = self.pc.addTransceiver(self.track, direction="sendrecv")
        prefer_vp8(transceiver)
        if self.video_cap is not None:
            self.encoder = cap_sender(transceiver.sender, self.video_cap)
        if self.audio is not None:
            self.pc.addTransceiver(self.audio, direction="sendrecv")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._set(PeerState.OFFERED)
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        if self.pc.signalingState != "have-local-offer":
            log.warning(
                "ignoring an answer in signaling state %s",
                self.pc.signalingState,
                extra={"fields": {"pairing": self.pairing}},
            )
            return
        await set_remote(self.pc, sdp, "answer")
        if self.state is PeerState.OFFERED:
            self._set(PeerState.CONNECTING)

    async def add_candidate(self, candidate: str, sdp_mid: str | None, index: int | None) -> None:
        await add_candidate(self.pc, candidate, sdp_mid, index)

    async def close(self) -> None:
        self._set(PeerState.CLOSED)
        self.state = PeerState.CLOSED
        await close_quietly(self.pc)
