"""What the hub sends back to the booths, encoded once and shared.

aiortc gives every ``RTCRtpSender`` its own encoder, so six booths would mean six VP8
encodes of the same picture (about one core on two, with latency over a second). Here
each stream (the officer's camera, the "please wait" card, the officer's microphone,
silence) is encoded once, in its own named thread, by :class:`EncodedStream`. Each
booth's sender gets a :class:`ReturnTrack` that yields the stream's ``av.Packet``s;
aiortc's sender then only packetises them (``Encoder.pack``), no encode per booth.

Focus moves a booth's :class:`ReturnTrack` from one stream to another
(:meth:`ReturnTrack.switch`): the track asks the new stream for a keyframe and drops
packets until one arrives, so the booth's decoder never sees a delta frame out of
context. A picture-loss request (PLI/FIR) from a booth asks its current stream for a
keyframe, rate-limited so that one lossy booth cannot make every booth's picture a
keyframe stream. Timestamps come from one clock for every stream, so a switch keeps the
RTP timeline of each sender continuous.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fractions
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from officer import limits
from officer.errors import OfficerError
from officer.forward import ForwardedStream
from officer.keyframes import KeyframeQueue, Throttle

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_RATE = 48_000
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)
AUDIO_FRAME_SAMPLES = AUDIO_RATE * 20 // 1000  # 20 ms Opus frames


class Producer(Protocol):
    """Makes the next raw frame of a stream, in the stream's thread."""

    kind: str
    period_s: float

    def produce(self, at: float) -> av.VideoFrame | av.AudioFrame | None: ...

    def close(self) -> None: ...


class VideoEncoder:
    """libvpx (VP8) through PyAV, tuned like aiortc's own encoder for real time."""

    def __init__(self, bitrate: int, fps: float) -> None:
        self.bitrate = bitrate
        self.fps = fps
        self.codec: av.video.codeccontext.VideoCodecContext | None = None

    def _open(self, width: int, height: int) -> av.video.codeccontext.VideoCodecContext:
        codec = av.CodecContext.create("libvpx", "w")
        codec.width = width
        codec.height = height
        codec.pix_fmt = "yuv420p"
        codec.bit_rate = self.bitrate
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(round(self.fps * 1000), 1000)
        codec.gop_size = 3000  # keyframes when asked for, not on a schedule
        codec.qmin = 2
        codec.qmax = 56
        codec.thread_count = 1
        codec.options = {
            "bufsize": str(self.bitrate),
            "cpu-used": "-6",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(self.bitrate),
            "maxrate": str(self.bitrate),
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
            "overshoot-pct": "15",
        }
        codec.open()
        return codec

    def encode(self, frame: av.VideoFrame, pts: int, keyframe: bool) -> tuple[bytes, bool]:
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        if self.codec is None or (frame.width, frame.height) != (
            self.codec.width,
            self.codec.height,
        ):
            self.codec = self._open(frame.width, frame.height)
            keyframe = True
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        packets = self.codec.encode(frame)
        data = b"".join(bytes(p) for p in packets)
        is_key = any(p.is_keyframe for p in packets)
        return data, is_key


class AudioEncoder:
    """Opus (48 kHz, mono, 20 ms frames) through PyAV."""

    def __init__(self, bitrate: int = limits.RETURN_AUDIO_BITRATE) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.bit_rate = bitrate
        codec.format = "s16"
        codec.layout = "mono"
        codec.sample_rate = AUDIO_RATE
        codec.time_base = AUDIO_TIME_BASE
        codec.options = {"application": "voip"}
        codec.open()
        self.codec = codec

    def encode(self, frame: av.AudioFrame, pts: int) -> bytes:
        frame.pts = pts
        frame.time_base = AUDIO_TIME_BASE
        return b"".join(bytes(p) for p in self.codec.encode(frame))


class StreamStats:
    def __init__(self) -> None:
        self.frames = 0
        self.keyframes = 0
        self.bytes = 0
        self.encode_s = 0.0


class EncodedStream:
    """One producer encoded once per frame in its own thread, fanned out to subscribers.

    Encoding runs only while some track is subscribed. Packets reach the subscribers on
    the event loop through one ``call_soon_threadsafe`` per frame.
    """

    def __init__(
        self,
        name: str,
        producer: Producer,
        *,
        bitrate: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.kind = producer.kind
        self.producer = producer
        self.clock = clock
        self.stats = StreamStats()
        self._video = VideoEncoder(bitrate, 1 / producer.period_s) if self.kind == "video" else None
        self._audio = AudioEncoder() if self.kind == "audio" else None
        self._subscribers: set[ReturnTrack] = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._keyframe = False
        self._stop = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._last_pts = -1

    def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._run, name=f"hub-encode:{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(limits.THREAD_JOIN_TIMEOUT_S)
            if thread.is_alive():  # pragma: no cover - an encoder stuck in libvpx
                log.error("encoder thread %s did not stop", self.name)
        self.producer.close()

    def request_keyframe(self) -> None:
        """The next frame is a keyframe, and it is made now rather than at the next slot."""
        with self._wake:
            self._keyframe = True
            self._wake.notify_all()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, track: ReturnTrack) -> None:
        with self._wake:
            self._subscribers.add(track)
            self._wake.notify_all()

    def unsubscribe(self, track: ReturnTrack) -> None:
        with self._wake:
            self._subscribers.discard(track)

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        period = self.producer.period_s
        due = self.clock()
        while True:
            with self._wake:
                while not self._stop:
                    now = self.clock()
                    if self._subscribers and (self._keyframe or now >= due):
                        break
                    timeout = max(0.0, due - now) if self._subscribers else None
                    self._wake.wait(timeout)
                if self._stop:
                    return
                keyframe, self._keyframe = self._keyframe, False
            now = self.clock()
            if now - due > period * limits.ENCODER_MAX_BEHIND_FRAMES:
                due = now  # fell far behind (machine busy): do not burst to catch up
            due += period
            try:
                self._encode_one(now, keyframe)
            except Exception:
                log.exception("return stream %s failed to encode a frame", self.name)

    def _encode_one(self, at: float, keyframe: bool) -> None:
        raw = self.producer.produce(at)
        if raw is None:
            return
        started = time.perf_counter()
        if isinstance(raw, av.VideoFrame):
            assert self._video is not None
            pts = max(self._last_pts + 1, round(at * 90_000))
            data, is_key = self._video.encode(raw, pts, keyframe)
            time_base = VIDEO_TIME_BASE
        else:
            assert self._audio is not None
            # Opus on a 20 ms grid of the shared clock: a switch keeps timestamps in step.
            pts = max(self._last_pts + AUDIO_FRAME_SAMPLES, round(at / 0.02) * AUDIO_FRAME_SAMPLES)
            data = self._audio.encode(raw, pts)
            is_key = True
            time_base = AUDIO_TIME_BASE
        self.stats.encode_s += time.perf_counter() - started
        if not data:
            return
        self._last_pts = pts
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = time_base
        self.stats.frames += 1
        self.stats.bytes += len(data)
        if is_key:
            self.stats.keyframes += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing under us
                loop.call_soon_threadsafe(self._fan_out, packet, is_key)

    def _fan_out(self, packet: av.Packet, keyframe: bool) -> None:
        for track in list(self._subscribers):
            track.deliver(self, packet, keyframe)


Stream = EncodedStream | ForwardedStream  # what a booth's return track sends from


class ReturnTrack(MediaStreamTrack):
    """One booth's view of a shared stream; :meth:`switch` moves it to another stream."""

    def __init__(
        self,
        kind: str,
        stream: Stream,
        *,
        name: str,
        on_switched: Callable[[ReturnTrack, float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.name = name
        self.stream = stream
        self.on_switched = on_switched
        self.monotonic = monotonic
        # Audio packets come marked as keyframes: each stands alone.
        self._pending: KeyframeQueue[av.Packet] = KeyframeQueue(limits.RETURN_QUEUE_PACKETS)
        self._switch_started: float | None = monotonic()
        self._pli = Throttle(limits.KEYFRAME_REQUEST_MIN_INTERVAL_S, monotonic)
        self._subscribed = False
        self.sent = 0
        self.sent_by_stream: dict[str, int] = {}
        self._last_pts = -1
        # Each packet as it goes to the booth (the session's recording taps it here).
        self.on_sent: Callable[[ReturnTrack, av.Packet], None] | None = None

    @property
    def dropped(self) -> int:
        """Times the sender fell behind and the track started again at a keyframe."""
        return self._pending.dropped

    # -- called from the event loop ------------------------------------------------------

    def switch(self, stream: Stream) -> None:
        """Send ``stream`` from its next keyframe on (asked for now)."""
        if stream is self.stream:
            return
        if self._subscribed:
            self.stream.unsubscribe(self)
        self.stream = stream
        self._pending.restart()
        self._switch_started = self.monotonic()
        if self._subscribed:
            stream.subscribe(self)
            stream.request_keyframe()

    def picture_lost(self) -> None:
        """A booth's PLI/FIR: ask the shared stream for a keyframe, rate-limited."""
        if self._pli.ready():
            self.stream.request_keyframe()

    def deliver(self, stream: Stream, packet: av.Packet, keyframe: bool) -> None:
        if stream is not self.stream:
            return
        if not self._pending.offer(packet, keyframe):
            # Waiting for a keyframe: at the start, after a switch, or after the sender fell
            # behind. The one asked for may never come (an encoder that emitted nothing for
            # that frame, a request made while the stream was between frames): ask again,
            # rate-limited, rather than wait for ever on a black picture.
            self.picture_lost()

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._subscribed:
            # Subscribe on the first read, i.e. once the sender really sends: a booth that
            # only sends (no return media in its offer) costs no encoding.
            self._subscribed = True
            self.stream.subscribe(self)
            self.stream.request_keyframe()
        packet = await self._pending.get()
        if self.readyState != "live":
            raise MediaStreamError
        pts = packet.pts
        if pts is not None:
            if pts <= self._last_pts:
                # Two sources' clocks a hair apart at a switch: the booth's RTP timeline
                # must not step back.
                pts = self._last_pts + 1
                packet = _restamped(packet, pts)
            self._last_pts = pts
        self.sent += 1
        self.sent_by_stream[self.stream.name] = self.sent_by_stream.get(self.stream.name, 0) + 1
        if self.on_sent is not None:
            self.on_sent(self, packet)
        if self._switch_started is not None:
            elapsed = self.monotonic() - self._switch_started
            self._switch_started = None
            if self.on_switched is not None:
                self.on_switched(self, elapsed)
        return packet

    def stop(self) -> None:
        if self._subscribed:
            self.stream.unsubscribe(self)
            self._subscribed = False
        super().stop()


def _restamped(packet: av.Packet, pts: int) -> av.Packet:
    out = av.Packet(bytes(packet))
    out.pts = pts
    out.time_base = packet.time_base
    return out


class KeyframeSource(Protocol):
    def picture_lost(self) -> None: ...


def hook_keyframe_requests(sender: object, track: KeyframeSource) -> None:
    """Route a receiver's picture-loss requests for ``sender`` to ``track`` (a booth's to
    the shared stream, the console's to the booth it shows).

    aiortc's ``RTCRtpSender`` answers PLI/FIR by calling its own ``_send_keyframe``, which
    only affects its own encoder; with pre-encoded packets that would do nothing.
    """
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise OfficerError(
            "aiortc's RTCRtpSender has no _send_keyframe any more; "
            "keyframe requests cannot reach the shared encoder"
        )
    sender._send_keyframe = track.picture_lost  # type: ignore[attr-defined]


class OfficerSource(enum.StrEnum):
    BROWSER = "browser"  # the console's camera and microphone, forwarded
    SYNTHETIC = "synthetic"  # the test pattern and tone (headless: demo, tests, benchmarks)
    NONE = "none"  # no console media and no synthetic officer: the card and silence


class ReturnStreams:
    """What the booths get back: the officer for the focused booth, the card and silence
    for every other booth.

    The officer is the browser's camera and microphone (forwarded, see
    :mod:`officer.forward`) while the console's media connection is up; the focused booth
    gets the card or silence instead while that camera or microphone sends nothing (a
    camera unplugged, refused or busy). With no console media connected, the officer is
    the synthetic test pattern and tone when ``synthetic`` is given, else the card.
    """

    def __init__(
        self,
        officer_video: EncodedStream | None,
        card: EncodedStream,
        officer_audio: EncodedStream | None,
        quiet: EncodedStream,
        *,
        browser_video: ForwardedStream | None = None,
        browser_audio: ForwardedStream | None = None,
    ) -> None:
        self.officer_video = officer_video
        self.card = card
        self.officer_audio = officer_audio
        self.quiet = quiet
        self.browser_video = browser_video or ForwardedStream("officer-camera", "video")
        self.browser_audio = browser_audio or ForwardedStream("officer-microphone", "audio")
        self.console_connected = False

    @property
    def all(self) -> tuple[EncodedStream | ForwardedStream, ...]:
        own = (self.officer_video, self.card, self.officer_audio, self.quiet)
        return (*(s for s in own if s is not None), self.browser_video, self.browser_audio)

    @property
    def officer_source(self) -> OfficerSource:
        if self.console_connected:
            return OfficerSource.BROWSER
        return OfficerSource.SYNTHETIC if self.officer_video is not None else OfficerSource.NONE

    def for_booth(self, kind: str, focused: bool) -> EncodedStream | ForwardedStream:
        video = kind == "video"
        waiting = self.card if video else self.quiet
        if not focused:
            return waiting
        if self.console_connected:
            browser = self.browser_video if video else self.browser_audio
            return browser if browser.live else waiting
        synthetic = self.officer_video if video else self.officer_audio
        return synthetic if synthetic is not None else waiting

    def start(self) -> None:
        for stream in self.all:
            stream.start()

    def stop(self) -> None:
        for stream in self.all:
            stream.stop()
