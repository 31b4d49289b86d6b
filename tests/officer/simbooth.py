"""A booth as the hub sees it, for the hub's tests and bench: real aiortc, real signaling.

It asks for service, offers send-and-receive video (test pattern, live or a replayed
VP8 loop; 320x240 out of the officer's focus, 640x480 in it, like a real booth) and audio
(a tone it can switch on and off, i.e. "speak"; in replay mode as Opus packets encoded
once at start, so the booth encodes nothing while it runs), and classifies what comes
back: a decoded return picture whose timecode reads is the officer's camera (its latency
is measured), one without is the waiting card; return audio with sound is the officer's
microphone, silent audio is silence. It also raises a hand, says whether its participant
is seated, and announces documents like a booth would.

Run as a process for the bench: ``python -m tests.officer.simbooth --server URL
--token-file F --stats out.json [--replay loop.ivf]``; it rewrites ``--stats`` every second.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import fractions
import functools
import json
import signal
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import compute_audio_level_dbov

from bilik import cvthreads
from bilik.catalogue.consent import CURRENT_WORDING
from bilik.tasks import TaskSet
from bilik.webrtc.connection import close_quietly, create_peer_connection, prefer_vp8
from bilik.webrtc.meter import FrameMeter, capture_time_ms
from booth import limits as booth_limits
from booth.bitrate import cap_sender
from booth.replay import ReplayLoop, ReplayTrack
from hardware.camera import SourceTrack, SyntheticSource
from hardware.testpattern import TestPattern, TimecodeError, read_frame_timecode
from officer.voice import level_dbfs
from signaling import protocol as p
from signaling.client import ClientState, SignalingClient

AUDIO_RATE = 48_000
SAMPLES = 960
SOUND_DB = -40.0  # return audio louder than this is the officer's voice
RETURN_SAMPLES = 20_000  # return-video latencies kept for the bench (22 min at 15 fps)


TONE_HZ = 300  # 960 samples are 6 whole periods: every 20 ms frame of the tone is the same
TONE_AMPLITUDE = 0.3 * 32767
OPUS_BITRATE = 96_000  # what aiortc's own Opus encoder sends
OPUS_LOOP_PACKETS = 50  # pre-encoded packets of each sound, sent in a loop (1 s)


def tone_frame(n: int, amplitude: float) -> av.AudioFrame:
    """The ``n``-th 20 ms mono frame of the tone at ``amplitude`` (0: silence)."""
    t = np.arange(n * SAMPLES, (n + 1) * SAMPLES)
    samples = (np.sin(2 * np.pi * TONE_HZ * t / AUDIO_RATE) * amplitude).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = AUDIO_RATE
    frame.pts = n * SAMPLES
    frame.time_base = fractions.Fraction(1, AUDIO_RATE)
    return frame


@functools.cache
def opus_loop(amplitude: float) -> tuple[bytes, ...]:
    """OPUS_LOOP_PACKETS 20 ms Opus packets of the tone at ``amplitude``, encoded once by
    libopus. Twice as many frames are encoded and the second half kept: the encoder has
    settled by then and the input is periodic, so the loop's seam is inaudible."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.bit_rate = OPUS_BITRATE
    codec.format = "s16"
    codec.layout = "mono"
    codec.sample_rate = AUDIO_RATE
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    codec.options = {"application": "voip"}
    codec.open()
    packets: list[bytes] = []
    for n in range(2 * OPUS_LOOP_PACKETS):
        packets += [bytes(packet) for packet in codec.encode(tone_frame(n, amplitude))]
    packets += [bytes(packet) for packet in codec.encode(None)]
    return tuple(packets[OPUS_LOOP_PACKETS : 2 * OPUS_LOOP_PACKETS])


class ToneTrack(MediaStreamTrack):
    """20 ms mono frames every 20 ms: a tone while ``speaking``, silence otherwise; encoded
    by aiortc's sender like a booth microphone's."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.speaking = False
        self._start: float | None = None
        self._n = 0

    async def _next(self) -> int:
        """Wait for the next frame's slot on the 20 ms grid; its number."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n * 0.02
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n, self._n = self._n, self._n + 1
        return n

    async def recv(self) -> av.AudioFrame | av.Packet:
        return tone_frame(await self._next(), TONE_AMPLITUDE if self.speaking else 0.0)


class OpusToneTrack(ToneTrack):
    """The same sound as :class:`ToneTrack`, as Opus packets encoded once at start: aiortc's
    sender only packetises them (no encoder), so six simulated booths leave the CPU to the
    hub they are measuring. The replay mode's audio.

    aiortc writes the audio level (RFC 6464) only for frames it encodes itself;
    :meth:`send_levels` puts the level of the sound being sent (computed once, by aiortc's
    own function) on this track's packets, so the hub sees what a live booth sends."""

    def __init__(self) -> None:
        super().__init__()
        self._tone = opus_loop(TONE_AMPLITUDE)
        self._silence = opus_loop(0.0)
        self._levels = {True: compute_audio_level_dbov(tone_frame(0, TONE_AMPLITUDE)),
                        False: compute_audio_level_dbov(tone_frame(0, 0.0))}

    def send_levels(self, sender: RTCRtpSender) -> None:
        packets = sender._next_encoded_frame

        async def with_level(codec: Any) -> Any:
            frame = await packets(codec)
            if frame is not None:
                frame.audio_level = self._levels[self.speaking]
            return frame

        sender._next_encoded_frame = with_level  # type: ignore[method-assign]

    async def recv(self) -> av.AudioFrame | av.Packet:
        n = await self._next()
        packets = self._tone if self.speaking else self._silence
        packet = av.Packet(packets[n % len(packets)])
        packet.pts = n * SAMPLES
        packet.time_base = fractions.Fraction(1, AUDIO_RATE)
        return packet


class SimBooth:
    def __init__(
        self, url: str, token: str, *, replay: Path | None = None, receive: bool = True,
        queue: bool = False, audio_levels: bool = True,
    ) -> None:
        # False: replayed audio goes without its level (RFC 6464), as from a sender that
        # does not write one; the hub must then decode it for the speaking mark.
        self.audio_levels = audio_levels
        self.receive = receive  # False: send-only video, no return media (a lighter booth)
        # True: served through the branch queue (called, then claims the participant's
        # ticket) instead of asking for service directly.
        self.queue = queue
        self.called: list[p.Called] = []
        self.client = SignalingClient(url, token, on_message=self._on_message,
                                      on_state=self._on_state, software="simbooth")
        self.replay = ReplayLoop.load(replay) if replay is not None else None
        self.source: SyntheticSource | None = None
        self.pc: Any = None
        self.pairing: str | None = None
        self.hub: str | None = None
        # Replay mode encodes nothing while it runs, audio included.
        self.tone = OpusToneTrack() if self.replay is not None else ToneTrack()
        self.officer_frames = 0
        self.card_frames = 0
        self.voice_frames = 0
        self.silent_frames = 0
        self.return_meter = FrameMeter()
        # For the bench: (decoded epoch ms, latency ms) of the officer's frames, and the
        # epoch ms at which the officer's picture came back after the card (focus gained).
        self.return_samples: collections.deque[tuple[int, float]] = collections.deque(
            maxlen=RETURN_SAMPLES)
        self.officer_arrivals: collections.deque[int] = collections.deque(maxlen=RETURN_SAMPLES)
        self._showing_officer = False
        self.attention: list[bool] = []
        self.verdicts: list[p.Verdict] = []
        self.doc_requests: list[p.DocRequest] = []
        self.releases = 0
        # The participant's answer to the recording consent, given at every pairing
        # (None: never asked, as a booth set without consent).
        self.consent: bool | None = None
        self._tasks = TaskSet()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self.replay is None:
            pattern = TestPattern(640, 480)
            self.source = SyntheticSource(pattern.render_bgr, 15, name="simbooth",
                                          clock=time.time)
            self.source.start()
        await self.client.start()

    async def stop(self) -> None:
        await self._tasks.cancel_all()
        await self._close_pc()
        await self.client.close()
        if self.source is not None:
            self.source.stop()
        self.tone.stop()

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.spawn(coro, name)

    def _on_state(self, state: ClientState) -> None:
        if state is ClientState.CONNECTED and not self.queue:
            self._spawn(self._send(p.ServiceRequest()), "simbooth-request")

    async def _send(self, msg: p.Message) -> None:
        with contextlib.suppress(Exception):
            await self.client.send(msg)

    async def _on_message(self, msg: p.Message) -> None:
        async with self._lock:
            if isinstance(msg, p.Pair):
                if msg.pairing == self.pairing and self.pc is not None and \
                        self.pc.connectionState in ("new", "connecting", "connected"):
                    return
                await self._call(msg.pairing, msg.hub)
                if self.consent is not None:
                    self._spawn(self._send(p.Consent(
                        peer=msg.hub, pairing=msg.pairing, ticket=msg.ticket,
                        wording=CURRENT_WORDING, accepted=self.consent, at=time.time())),
                        "simbooth-consent")
            elif isinstance(msg, p.Answer) and self.pc is not None and msg.pairing == self.pairing:
                if self.pc.signalingState == "have-local-offer":
                    await self.pc.setRemoteDescription(RTCSessionDescription(msg.sdp, "answer"))
            elif isinstance(msg, p.Attention):
                self.attention.append(msg.focused)
            elif isinstance(msg, p.Called):
                self.called.append(msg)
            elif isinstance(msg, p.Verdict):
                self.verdicts.append(msg)
            elif isinstance(msg, p.DocRequest):
                self.doc_requests.append(msg)
            elif isinstance(msg, p.Release) and msg.pairing == self.pairing:
                self.releases += 1
                await self._close_pc()
                self.pairing = None
                if not self.queue:
                    self._spawn(self._send(p.ServiceRequest()), "simbooth-rerequest")

    def _out_of_focus(self) -> bool:
        """Like the real booth: a tile (smaller picture, lower bitrate) until the hub's
        Attention(focused=True), and again after Attention(focused=False)."""
        return self.attention[-1:] != [True]

    def _video_track(self) -> MediaStreamTrack:
        if self.replay is not None:
            return ReplayTrack(self.replay, small=self._out_of_focus)
        assert self.source is not None
        return SourceTrack(self.source)

    async def _call(self, pairing: str, hub: str) -> None:
        await self._close_pc()
        self.pairing, self.hub = pairing, hub
        pc = create_peer_connection()
        self.pc = pc
        video = pc.addTransceiver(self._video_track(),
                                  direction="sendrecv" if self.receive else "sendonly")
        prefer_vp8(video)
        if self.replay is None:
            # Like the real booth: out of focus, the camera is sent at 320x240 and a capped
            # bitrate (a replayed booth sends its small loop instead).
            cap_sender(video.sender, lambda: booth_limits.UNFOCUSED_VIDEO_BITRATE
                       if self._out_of_focus() else None)
        if self.receive:
            audio = pc.addTransceiver(self.tone, direction="sendrecv")
            if isinstance(self.tone, OpusToneTrack) and self.audio_levels:
                self.tone.send_levels(audio.sender)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            consume = self._video(track) if track.kind == "video" else self._audio(track)
            self._spawn(consume, f"simbooth-{track.kind}")

        await pc.setLocalDescription(await pc.createOffer())
        await self._send(p.Offer(peer=hub, pairing=pairing, sdp=pc.localDescription.sdp))

    async def _video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.VideoFrame):
                continue
            now_ms = int(time.time() * 1000)
            try:
                capture = capture_time_ms(read_frame_timecode(frame), now_ms)
            except TimecodeError:
                self.card_frames += 1
                self._showing_officer = False
                continue
            self.officer_frames += 1
            if not self._showing_officer:
                self._showing_officer = True
                self.officer_arrivals.append(now_ms)
            latency = self.return_meter.frame(now_ms, capture)
            if latency is not None:
                self.return_samples.append((now_ms, latency))

    async def _audio(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            if level_dbfs(frame.to_ndarray()) > SOUND_DB:
                self.voice_frames += 1
            else:
                self.silent_frames += 1

    async def _close_pc(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_quietly(pc)

    # -- what a participant does -------------------------------------------------------------

    async def raise_hand(self, raised: bool = True, reason: str = "ready") -> None:
        assert self.pairing and self.hub
        await self.client.send(p.Hand(peer=self.hub, pairing=self.pairing, raised=raised,
                                      reason=reason))

    async def claim(self, qr: str) -> None:
        """The participant shows their ticket's QR code at the booth."""
        await self.client.request(p.Claim(qr=qr))

    async def seat(self, occupied: bool) -> None:
        """What the booth's presence detection says: the participant sat down or left."""
        assert self.pairing and self.hub
        await self.client.send(p.Seat(peer=self.hub, pairing=self.pairing, occupied=occupied))

    async def end_pairing(self) -> None:
        """End the pairing from the booth's side; the booth then asks for service again."""
        assert self.pairing
        await self.client.send(p.Release(pairing=self.pairing,
                                         reason=p.ReleaseReason.DONE.value))

    async def document(self, document: str, kind: str, status: str = "uploaded") -> None:
        assert self.pairing and self.hub
        await self.client.send(p.DocUpdate(peer=self.hub, pairing=self.pairing,
                                           document=document, kind=kind, status=status))

    def stats(self) -> dict[str, Any]:
        r = self.return_meter.reading(int(time.time() * 1000))
        return {"officer_frames": self.officer_frames, "card_frames": self.card_frames,
                "voice_frames": self.voice_frames, "silent_frames": self.silent_frames,
                "return_p50_ms": r.p50_ms, "return_p95_ms": r.p95_ms,
                "return_p99_ms": r.p99_ms, "attention": self.attention[-1:],
                "return_samples": list(self.return_samples),
                "officer_arrivals": list(self.officer_arrivals)}


async def _main(args: argparse.Namespace) -> None:
    token = args.token_file.read_text().strip()
    booth = SimBooth(args.server, token, replay=args.replay)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await booth.start()
    booth.tone.speaking = args.speak
    booth.consent = True if args.consent else None
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            tmp = args.stats.with_suffix(".tmp")
            tmp.write_text(json.dumps(booth.stats()))
            tmp.replace(args.stats)
    finally:
        await booth.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--replay", type=Path)
    parser.add_argument("--speak", action="store_true")
    parser.add_argument("--consent", action="store_true",
                        help="the participant accepts the recording at every pairing")
    cvthreads.single_threaded()  # as a booth agent does
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
