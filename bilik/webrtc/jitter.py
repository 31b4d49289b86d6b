"""Release a video frame from aiortc's jitter buffer as soon as its RTP marker bit completes it.

aiortc 1.16's :class:`aiortc.jitterbuffer.JitterBuffer` only knows that a frame is
complete when the first packet of the *next* frame arrives (its timestamp differs),
so every frame waits one whole frame period (67 ms at 15 fps) before it is decoded.
A sender marks the last packet of each video frame with the RTP marker bit (RFC 3550
section 5.1, RFC 7741 section 4.1 for VP8; aiortc's own sender does so), so a frame
whose packets are all present from the buffer's origin up to a marker packet is
complete and can go to the decoder at once.

:class:`MarkerJitterBuffer` changes only that decision. Everything else (capacity,
misorder handling, ``smart_remove`` on overflow, picture-loss signalling) is the
base class's. A frame whose marker packet is lost is still released the old way,
when a packet of the next frame arrives.

:func:`install` makes every *video* :class:`aiortc.RTCRtpReceiver` created afterwards
use it, by rebinding the ``JitterBuffer`` name that ``aiortc.rtcrtpreceiver`` looks up
when a receiver is constructed. It checks the aiortc version and the shape of the code
it relies on first and raises :class:`JitterHookError` if either changed, so an aiortc
upgrade cannot silently bring the extra frame of latency back (or break decoding).
"""

from __future__ import annotations

import inspect
import logging
import threading
from typing import Any

import aiortc
import aiortc.rtcrtpreceiver as _receiver_module
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

from bilik.webrtc import aiortcversion
from bilik.webrtc.backlog import is_vp8_keyframe
from bilik.webrtc.errors import JitterHookError
from bilik.webrtc.limits import KEYFRAME_ASK_TICKS, MAX_FRAME_WAIT_TICKS

log = logging.getLogger(__name__)

# The aiortc releases whose JitterBuffer and RTCRtpReceiver this module was written
# against and tested with. Another version must be read and tested before it is added.
# What RTCRtpReceiver.__init__ must contain for the hook to take effect.
_RECEIVER_CONSTRUCTS = "JitterBuffer(capacity=512, is_video=True)"
_BASE_ATTRIBUTES = ("_capacity", "_origin", "_packets", "_prefetch", "remove", "_remove_frame")

_ORIGINAL: type[JitterBuffer] = JitterBuffer
_lock = threading.Lock()


class MarkerJitterBuffer(JitterBuffer):
    """A video jitter buffer that releases a frame on the packet that completes it."""

    def __init__(self, capacity: int, prefetch: int = 0, is_video: bool = False) -> None:
        if prefetch != 0:
            raise ValueError("MarkerJitterBuffer releases frames immediately; prefetch must be 0")
        super().__init__(capacity=capacity, prefetch=0, is_video=is_video)
        self.released_on_marker = 0  # frames released by their marker packet
        self.released_on_next = 0  # frames released the old way (marker packet missing)
        self.broken_dropped = 0  # frames given up on: a packet never came
        self.waiting_dropped = 0  # delta frames dropped while waiting for a keyframe
        self._need_keyframe = False
        self._asked_at = 0  # RTP timestamp of the last keyframe request

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """The base class's ``add``, plus a bound on how long a broken frame is waited for.

        A frame with a packet missing is waited for (NACK and retransmission fill the gap
        within a round trip on a LAN). If packets keep arriving more than
        ``MAX_FRAME_WAIT_TICKS`` of RTP time after that frame, the gap will not be filled
        (a receiver that was short of CPU lost the packets in its socket buffer): the
        broken frame is dropped, a keyframe is asked for (``pli``), and delta frames are
        dropped until it comes. Without this, aiortc waits until the buffer overflows:
        512 packets, several seconds of video, every later frame that late.
        """
        pli, frame = super().add(packet)
        if frame is None and self._stalled(packet.timestamp):
            self._drop_broken_frame()
            self.broken_dropped += 1
            self._need_keyframe = True
            pli = True
            frame = self._remove_frame(packet.sequence_number)
        if frame is not None and self._need_keyframe:
            if is_vp8_keyframe(frame.data):
                self._need_keyframe = False
            else:
                self.waiting_dropped += 1
                frame = None
                if _ticks(packet.timestamp - self._asked_at) >= KEYFRAME_ASK_TICKS:
                    self._asked_at = packet.timestamp
                    pli = True
        elif pli:
            self._asked_at = packet.timestamp
        return pli, frame

    def _oldest(self) -> RtpPacket | None:
        origin = self._origin
        if origin is None:
            return None
        for count in range(self._capacity):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is not None:
                return packet
        return None

    def _stalled(self, newest_timestamp: int) -> bool:
        oldest = self._oldest()
        return oldest is not None and \
            MAX_FRAME_WAIT_TICKS < _ticks(newest_timestamp - oldest.timestamp) < 2**31

    def _drop_broken_frame(self) -> None:
        """Remove the packets of the oldest (incomplete) frame and the gaps around them."""
        oldest = self._oldest()
        if oldest is None:
            return
        count = 0
        origin = self._origin
        assert origin is not None
        while count < self._capacity:
            packet = self._packets[(origin + count) % self._capacity]
            if packet is not None and packet.timestamp != oldest.timestamp:
                break
            count += 1
        self.remove(count)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        # Walk the contiguous packets from the origin. The first frame in the buffer is
        # complete when we reach its marker packet, or (marker lost) a packet of a later
        # frame. A gap means a packet is still missing: wait for it (NACK/RTX fills it)
        # or for the base class's overflow handling to skip the frame.
        origin = self._origin
        if origin is None:
            return None
        packets: list[RtpPacket] = []
        timestamp: int | None = None
        for count in range(self._capacity):
            packet = self._packets[(origin + count) % self._capacity]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                self.remove(count)
                self.released_on_next += 1
                return _frame(packets, timestamp)
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                self.released_on_marker += 1
                return _frame(packets, timestamp)
        return None


def _ticks(delta: int) -> int:
    """An RTP timestamp difference, modulo 2**32 (timestamps wrap)."""
    return delta % 2**32


def _frame(packets: list[RtpPacket], timestamp: int) -> JitterFrame:
    # aiortc's receiver stores the depayloaded bytes on each packet as ``_data``.
    return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)  # type: ignore[attr-defined]


def _jitter_buffer_factory(
    capacity: int, prefetch: int = 0, is_video: bool = False
) -> JitterBuffer:
    """Stands in for ``JitterBuffer`` inside ``aiortc.rtcrtpreceiver``."""
    if is_video and prefetch == 0:
        return MarkerJitterBuffer(capacity=capacity, is_video=True)
    return _ORIGINAL(capacity=capacity, prefetch=prefetch, is_video=is_video)


def check_aiortc_shape(version: str | None = None) -> None:
    """Raise :class:`JitterHookError` unless aiortc looks exactly as this module expects."""
    aiortcversion.require(
        "the marker jitter buffer", "read aiortc's jitterbuffer.py and rtcrtpreceiver.py and "
        "re-run tests/webrtc/test_call_jitter.py", JitterHookError, version)
    missing = [name for name in _BASE_ATTRIBUTES if not hasattr(_ORIGINAL(capacity=2), name)]
    if missing:
        raise JitterHookError(
            f"aiortc {version}: JitterBuffer lacks {', '.join(missing)}; the hook cannot work"
        )
    params = list(inspect.signature(_ORIGINAL.__init__).parameters)
    if params != ["self", "capacity", "prefetch", "is_video"]:
        raise JitterHookError(f"aiortc {version}: JitterBuffer.__init__ changed to {params}")
    source = inspect.getsource(_receiver_module.RTCRtpReceiver.__init__)
    if _RECEIVER_CONSTRUCTS not in source:
        raise JitterHookError(
            f"aiortc {version}: RTCRtpReceiver no longer builds {_RECEIVER_CONSTRUCTS!r}"
        )


def install() -> None:
    """Make every video receiver created from now on release frames on the marker bit.

    Idempotent and thread-safe. Raises :class:`JitterHookError` if aiortc changed shape.
    """
    with _lock:
        current: Any = _receiver_module.JitterBuffer
        if current is _jitter_buffer_factory:
            return
        if current is not _ORIGINAL:
            raise JitterHookError(
                f"aiortc.rtcrtpreceiver.JitterBuffer is already replaced by {current!r}"
            )
        check_aiortc_shape()
        _receiver_module.JitterBuffer = _jitter_buffer_factory  # type: ignore[misc,assignment]
        log.debug("aiortc video jitter buffer now releases frames on the RTP marker bit")


def uninstall() -> None:
    """Restore aiortc's own jitter buffer (used by tests that compare both)."""
    with _lock:
        _receiver_module.JitterBuffer = _ORIGINAL  # type: ignore[misc]


def installed() -> bool:
    return _receiver_module.JitterBuffer is _jitter_buffer_factory


def receiver_buffer(receiver: aiortc.RTCRtpReceiver) -> JitterBuffer:
    """The jitter buffer of a live receiver (name-mangled private attribute in aiortc 1.16)."""
    try:
        buffer: JitterBuffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    except AttributeError:
        raise JitterHookError("RTCRtpReceiver has no __jitter_buffer attribute any more") from None
    return buffer


def verify_receiver(receiver: aiortc.RTCRtpReceiver) -> MarkerJitterBuffer:
    """Fail loudly if a video receiver was built without the marker jitter buffer."""
    buffer = receiver_buffer(receiver)
    if not isinstance(buffer, MarkerJitterBuffer):
        raise JitterHookError(
            f"video receiver uses {type(buffer).__name__}, not MarkerJitterBuffer: "
            "bilik.webrtc.jitter.install() was not called before the peer connection was built"
        )
    return buffer
