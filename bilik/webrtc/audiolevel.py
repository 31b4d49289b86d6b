"""The audio level a sender writes in each RTP packet (RFC 6464), read without decoding.

aiortc's sender computes every audio frame's level (RFC 6465, appendix A: RMS in dBov)
and sends it in the ``ssrc-audio-level`` header extension, which aiortc negotiates by
default. A receiver that only needs to know whether someone speaks, as the hub does for
every booth out of focus, can read the level from the packet and leave the audio
undecoded: conference servers detect the active speaker this way. On the hub bench that
decoding (Opus, a thread hand-off each way and a level in NumPy, 250 frames a second for
five waiting booths) was about a tenth of a core.

:func:`watch` wraps one receiver's packet handler, as an attribute of that instance, so
nothing else in aiortc changes; packets go on to aiortc exactly as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver

from bilik.webrtc import aiortcversion
from bilik.webrtc.errors import WebRtcError

LevelListener = Callable[[float], None]  # a packet's level in dBov: 0 loudest, -127 silence


class AudioLevelHookError(WebRtcError):
    """aiortc's receiver no longer handles packets the way :func:`watch` expects."""


def watch(receiver: RTCRtpReceiver, listener: LevelListener | None,
          on_packet: Callable[[Any], None] | None = None) -> None:
    """Call ``listener`` with the level of every packet ``receiver`` gets that carries one,
    and ``on_packet`` with every packet (an ``aiortc.rtp.RtpPacket``: a hub forwards the
    focused booth's voice, and the officer's, packet by packet without decoding)."""
    aiortcversion.require(
        "the audio-level reader", "read aiortc's rtcrtpreceiver.py and rtcdtlstransport.py "
        "and re-run tests/officer/test_focus.py", AudioLevelHookError)
    handler = getattr(receiver, "_handle_rtp_packet", None)
    if handler is None or not inspect.iscoroutinefunction(handler):
        raise AudioLevelHookError("RTCRtpReceiver._handle_rtp_packet is gone or not a "
                                  "coroutine: read bilik/webrtc/audiolevel.py")

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        level = packet.extensions.audio_level  # (voice flag, -dBov) or None
        if level is not None and listener is not None:
            listener(-float(level[1]))
        if on_packet is not None:
            on_packet(packet)
        await handler(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
