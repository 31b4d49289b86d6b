"""The one way booth and hub build a peer connection.

Both sides get: the marker-bit jitter buffer installed (see :mod:`bilik.webrtc.jitter`),
a bounded decoder backlog on every receiver (see :mod:`bilik.webrtc.backlog`),
larger kernel receive buffers on its UDP sockets once gathered (see
:mod:`bilik.webrtc.sockets`),
no STUN/TURN servers (the branch LAN needs host candidates only, and the machines have
no route to public STUN servers), ICE on the addresses the process's policy admits (see
:mod:`bilik.webrtc.ice`: remote descriptions and candidates outside it are dropped), and
VP8 as the only video codec, so that every booth's stream can be decoded the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import candidate_from_sdp

from bilik.webrtc import backlog, ice, iceclose, jitter, limits, sockets

log = logging.getLogger(__name__)


def create_peer_connection() -> RTCPeerConnection:
    """A peer connection for the branch LAN, with the marker jitter buffer in place."""
    jitter.install()
    backlog.install()
    iceclose.install()
    ice.ensure_configured()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    @pc.on("track")
    def _bound_decoder_backlog(track: Any) -> None:
        for transceiver in pc.getTransceivers():
            if transceiver.receiver.track is track:
                backlog.attach(transceiver.receiver)

    @pc.on("icegatheringstatechange")
    def _widen_receive_buffers() -> None:
        if pc.iceGatheringState == "complete":
            sockets.widen_receive_buffers(pc)

    return pc


async def set_remote(pc: RTCPeerConnection, sdp: str, kind: str) -> None:
    """Apply a remote offer or answer, without candidates the ICE policy does not admit."""
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ice.filter_sdp(sdp), type=kind))


async def add_candidate(pc: RTCPeerConnection, candidate: str, sdp_mid: str | None,
                        index: int | None) -> bool:
    """Add a trickled remote candidate; False when it is empty (end of candidates, which
    aiortc needs no notice of) or outside the ICE policy (dropped)."""
    if not candidate:
        return False
    line = candidate.removeprefix("candidate:")
    address = ice.candidate_address(line)
    if address is None or not ice.allowed(address):
        log.debug("remote candidate outside the ICE policy dropped: %s", line)
        return False
    parsed: RTCIceCandidate = candidate_from_sdp(line)
    parsed.sdpMid = sdp_mid
    parsed.sdpMLineIndex = index
    await pc.addIceCandidate(parsed)
    return True


def video_codecs() -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpReceiver.getCapabilities("video")
    if capabilities is None:  # pragma: no cover - aiortc always knows video
        raise RuntimeError("aiortc reports no video capabilities")
    codecs = [c for c in capabilities.codecs if c.mimeType in limits.VIDEO_CODECS]
    codecs.sort(key=lambda c: limits.VIDEO_CODECS.index(c.mimeType))
    return codecs


def prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    """Offer or accept VP8 (with retransmission) only on this transceiver."""
    transceiver.setCodecPreferences(video_codecs())


async def close_quietly(pc: RTCPeerConnection) -> None:
    """Close a peer connection, bounded in time; closing twice is harmless.

    Bounded also when the caller is cancelled meanwhile (a hub or booth stopping): Python
    3.11's ``asyncio.wait_for`` then waits, without limit, for the cancelled close to end,
    and aiortc's close does not always end when cancelled (aioice's ``Connection.close``
    takes a cancellation for its consent task's and carries on). Here the close gets
    ``PEER_CLOSE_TIMEOUT_S`` to end once cancelled, then is left behind with a warning.
    """
    closing = asyncio.ensure_future(pc.close())
    try:
        done, _ = await asyncio.wait({closing}, timeout=limits.PEER_CLOSE_TIMEOUT_S)
    except asyncio.CancelledError:
        await _abandon(closing)
        raise
    if not done:
        log.warning("peer connection did not close within %s s", limits.PEER_CLOSE_TIMEOUT_S)
        await _abandon(closing)
        return
    if not closing.cancelled() and closing.exception() is not None:
        # closing a half-built connection can raise inside aiortc
        log.debug("error while closing a peer connection", exc_info=closing.exception())


async def _abandon(closing: asyncio.Future[None]) -> None:
    closing.cancel()
    _, pending = await asyncio.wait({closing}, timeout=limits.PEER_CLOSE_TIMEOUT_S)
    if pending:
        log.warning("a peer connection's close ignored its cancellation; left behind")


@contextlib.asynccontextmanager
async def peer_connection() -> AsyncIterator[RTCPeerConnection]:
    """``async with peer_connection() as pc:`` closes it however the block ends."""
    pc = create_peer_connection()
    try:
        yield pc
    finally:
        await close_quietly(pc)
