"""Bound the time a received video frame may wait for aiortc's decoder.

aiortc 1.16 hands every complete encoded frame to the receiver's decoder thread through an
unbounded ``queue.Queue``. When the machine is short of CPU (six booths, a browser and an
officer hub on two cores), the decoder falls behind and the queue grows: the officer then
sees each booth seconds in the past, later and later (bench/hub.py measured p95 of 7 s).

:class:`DecodeBacklog` is that queue with a bound. When more than
:data:`~bilik.webrtc.limits.MAX_DECODE_BACKLOG_FRAMES` video frames wait, the waiting
frames are dropped and so is every later frame up to the next VP8 keyframe (a delta frame
without its references would decode into a smeared picture). While it waits, it asks the
sender for a keyframe through the receiver's own picture-loss path: it sets the event
aiortc's decoder sets on a decode error, and aiortc answers with an RTCP PLI at the next
packet. Audio frames stand alone: beyond the bound the oldest are dropped, and while
:attr:`DecodeBacklog.audio_wanted` says no they are not decoded at all (the hub reads a
waiting booth's speech from the packets' audio level instead, see
:mod:`bilik.webrtc.audiolevel`).

It is also where a receiver's encoded video frames can be had without decoding them:
:attr:`DecodeBacklog.on_encoded` is called (on the event loop) with every complete
encoded video frame as it leaves aiortc's jitter buffer, and while
:attr:`DecodeBacklog.video_wanted` says no, nothing is decoded (a hub forwards booths'
video to the officer's browser as it came). When decoding is wanted again it starts at
the next keyframe.

:func:`install` rebinds the ``queue`` module that ``aiortc.rtcrtpreceiver`` uses for that
one queue (its only ``queue.Queue()``), with the same version and shape checks as the
jitter-buffer hook; :func:`attach` connects a live receiver's queue to its decode-error
event (the event is made in the same constructor, so it cannot be passed in).
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import aiortc
import aiortc.rtcrtpreceiver as _receiver_module

from bilik.webrtc import aiortcversion, limits
from bilik.webrtc.errors import WebRtcError

log = logging.getLogger(__name__)

_RECEIVER_CONSTRUCTS = "self.__decoder_queue: queue.Queue = queue.Queue()"
_lock = threading.Lock()


class BacklogHookError(WebRtcError):
    """aiortc is not shaped as the decoder-backlog hook expects."""


def is_vp8_keyframe(data: bytes) -> bool:
    """RFC 6386 section 9.1: bit 0 of the frame tag is 0 on a key frame."""
    return bool(data) and data[0] & 0x01 == 0


class DecodeBacklog(queue.Queue):
    """aiortc's decoder input, bounded: see the module's docstring."""

    def __init__(self, maxframes: int = limits.MAX_DECODE_BACKLOG_FRAMES, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.maxframes = maxframes
        self.monotonic = monotonic
        self.decode_error: threading.Event | None = None  # set by attach()
        self.skipping = False  # dropping until the next keyframe
        self.dropped = 0  # encoded frames never decoded
        self.catch_ups = 0  # times the backlog was dropped
        self._asked_at = float("-inf")
        # Audio is decoded only while this says so (None: always).
        self.audio_wanted: Callable[[], bool] | None = None
        self.not_wanted = 0  # audio or video frames left undecoded because not wanted
        # Every encoded video frame, as it comes (forwarding); video is decoded only while
        # video_wanted says so (None: always).
        self.on_encoded: Callable[[Any], None] | None = None
        self.video_wanted: Callable[[], bool] | None = None
        self.encoded = 0  # encoded video frames seen

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # end of the stream: always delivered
            super().put(item, block, timeout)
            return
        codec, frame = item
        video = codec.mimeType.lower().startswith("video/")
        if video:
            self.encoded += 1
            if self.on_encoded is not None:
                self.on_encoded(frame)
            if self.video_wanted is not None and not self.video_wanted():
                self.not_wanted += 1
                self.skipping = True  # decoding starts again at a keyframe
                return
        elif self.audio_wanted is not None and not self.audio_wanted():
            self.not_wanted += 1
            return
        with self.mutex:
            behind = sum(1 for queued in self.queue if queued is not None)
            if behind >= self.maxframes:
                kept = [queued for queued in self.queue if queued is None]
                self.dropped += behind
                self.queue.clear()
                self.queue.extend(kept)
                if video:
                    self.skipping = True
                    self.catch_ups += 1
                    log.info("decoder %d frames behind: dropped, waiting for a keyframe",
                             behind)
        if video and self.skipping:
            if not is_vp8_keyframe(frame.data):
                self.dropped += 1
                self._ask_keyframe()
                return
            self.skipping = False
        super().put(item, block, timeout)

    def ask_keyframe(self) -> None:
        """Ask the sender for a keyframe now (a PLI at the next packet); the caller
        rate-limits (a hub forwarding this stream, on a focus switch)."""
        if self.decode_error is not None:
            self.decode_error.set()

    def _ask_keyframe(self) -> None:
        now = self.monotonic()
        if self.decode_error is not None and now - self._asked_at >= limits.KEYFRAME_ASK_EVERY_S:
            self._asked_at = now
            self.decode_error.set()


def _queue_module() -> types.SimpleNamespace:
    names = {name: getattr(queue, name) for name in dir(queue) if not name.startswith("__")}
    return types.SimpleNamespace(**{**names, "Queue": DecodeBacklog})


_SHIM = _queue_module()


def check_aiortc_shape(version: str | None = None) -> None:
    aiortcversion.require(
        "the decoder-backlog bound", "read aiortc's rtcrtpreceiver.py and re-run "
        "tests/webrtc/test_call_backlog.py", BacklogHookError, version)
    source = inspect.getsource(_receiver_module)
    if source.count("queue.Queue()") != 1 or _RECEIVER_CONSTRUCTS not in source:
        raise BacklogHookError(
            f"aiortc {version}: rtcrtpreceiver no longer builds exactly one decoder queue as "
            f"{_RECEIVER_CONSTRUCTS!r}")
    if not hasattr(_receiver_module, "queue") or _receiver_module.queue not in (queue, _SHIM):
        raise BacklogHookError(f"aiortc {version}: rtcrtpreceiver's queue module is replaced")


def install() -> None:
    """Receivers created from now on get a bounded decoder queue. Idempotent."""
    with _lock:
        if _receiver_module.queue is _SHIM:
            return
        check_aiortc_shape()
        _receiver_module.queue = _SHIM  # type: ignore[assignment]


def uninstall() -> None:
    """aiortc's own unbounded queue again (tests that compare both)."""
    with _lock:
        _receiver_module.queue = queue


def of(receiver: aiortc.RTCRtpReceiver) -> DecodeBacklog | None:
    """The receiver's bounded decoder queue (None if built before :func:`install`)."""
    backlog = getattr(receiver, "_RTCRtpReceiver__decoder_queue", None)
    return backlog if isinstance(backlog, DecodeBacklog) else None


def attach(receiver: aiortc.RTCRtpReceiver) -> DecodeBacklog | None:
    """Connect a receiver's bounded queue to its decode-error event (keyframe requests).

    Returns the queue, or None if the receiver was built before :func:`install`.
    """
    backlog = of(receiver)
    event = getattr(receiver, "_RTCRtpReceiver__decoder_error", None)
    if backlog is None:
        return None
    if not isinstance(event, threading.Event):
        raise BacklogHookError("RTCRtpReceiver has no __decoder_error event any more")
    backlog.decode_error = event
    return backlog
