"""Peer connections ask the kernel for larger UDP receive buffers (bilik/webrtc/sockets.py)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from bilik.webrtc import limits, sockets
from bilik.webrtc.connection import close_quietly, create_peer_connection

RMEM_MAX = int(Path("/proc/sys/net/core/rmem_max").read_text())


def granted_for(asked: int) -> int:
    """What Linux grants for SO_RCVBUF: the request capped at rmem_max, doubled."""
    return 2 * min(asked, RMEM_MAX)


async def gathered() -> RTCPeerConnection:
    pc = create_peer_connection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())  # gathers the host candidates
    assert pc.iceGatheringState == "complete"
    return pc


async def test_every_ice_socket_gets_the_larger_receive_buffer() -> None:
    pc = await gathered()
    try:
        found = sockets.udp_sockets(pc)
        assert found, "no UDP socket found behind the peer connection"
        for sock in found:
            assert sock.type == socket.SOCK_DGRAM
            got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            assert got == granted_for(limits.RECEIVE_BUFFER_BYTES)
            assert got > 2 * 212_992  # more than the kernel's default
    finally:
        await close_quietly(pc)


async def test_a_cap_by_the_kernel_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    pc = await gathered()
    sockets._warned.discard("capped")
    try:
        with caplog.at_level(logging.WARNING, logger="bilik.webrtc.sockets"):
            granted = sockets.widen_receive_buffers(pc, RMEM_MAX + 4096)
            sockets.widen_receive_buffers(pc, RMEM_MAX + 4096)
        assert granted and all(g == granted_for(RMEM_MAX) for g in granted)
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1 and "net.core.rmem_max" in warnings[0]
    finally:
        await close_quietly(pc)
