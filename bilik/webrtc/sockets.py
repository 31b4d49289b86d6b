"""Larger kernel receive buffers for a peer connection's UDP sockets.

A hub receives about 460 packets a second from six booths on its ICE sockets. Linux
gives a UDP socket ``net.core.rmem_default`` (208 KiB) of receive buffer, which the
kernel charges per packet at its allocated size (about 2.3 KiB for a 1.2 KiB RTP
packet): about 90 packets, i.e. a fifth of a second. An event loop held up longer than
that (a burst of work, another process on the same core) loses packets: on the hub
benchmark the kernel counted them as ``RcvbufErrors``, and each loss cost a booth's
video the frames up to its next keyframe. ``RECEIVE_BUFFER_BYTES`` (256 KiB, which the
kernel books twice over) holds about half a second; a longer stall still loses packets,
on purpose: a buffer of seconds turns a starved receiver's losses into seconds of
latency (see ``bilik/webrtc/limits.py``).

The kernel caps the request at ``net.core.rmem_max``; when that is lower, the socket gets
the cap and one warning says so (docs/deploy.md, "Kernel settings"). aioice keeps its
sockets in private attributes; if they move in an upgrade, one warning says that too
and the connection works as before with the default buffers.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from aiortc import RTCPeerConnection

from bilik.webrtc import limits

log = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


def udp_sockets(pc: RTCPeerConnection) -> list[socket.socket]:
    """The UDP sockets of ``pc``'s ICE transports (empty before gathering)."""
    found: dict[int, socket.socket] = {}
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        gatherer = getattr(getattr(dtls, "transport", None), "iceGatherer", None)
        connection = getattr(gatherer, "_connection", None)
        protocols = getattr(connection, "_protocols", None)
        if protocols is None:
            _warn_once("layout", "aioice's sockets are no longer where bilik/webrtc/sockets.py "
                                 "looks for them: receive buffers left at the kernel default")
            continue
        for protocol in protocols:
            transport = getattr(protocol, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:
                found[sock.fileno()] = sock
    return list(found.values())


def widen_receive_buffers(pc: RTCPeerConnection,
                          size: int = limits.RECEIVE_BUFFER_BYTES) -> list[int]:
    """Ask for ``size`` bytes of receive buffer on each of ``pc``'s UDP sockets.

    Returns the sizes the kernel granted (it reports double what it books for data).
    """
    granted = []
    for sock in udp_sockets(pc):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError as exc:
            _warn_once("setsockopt", "could not set a UDP receive buffer: %s", exc)
            continue
        granted.append(got)
        if got // 2 < size:  # Linux reports double the size asked (or its cap)
            _warn_once("capped", "UDP receive buffer capped at %d bytes (asked %d): raise "
                                 "net.core.rmem_max (docs/deploy.md)", got // 2, size)
    return granted
