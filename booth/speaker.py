"""The booth's loudspeaker: the officer's voice, played.

Every received audio frame (aiortc decodes Opus to 48 kHz s16 stereo, 20 ms a frame) is
resampled by PyAV to mono s16 at :data:`~booth.limits.SPEAKER_RATE` and put into a small
drop-oldest queue of :data:`~booth.limits.SPEAKER_BUFFER_BLOCKS` blocks (about 200 ms).
The output takes blocks from it at its own pace: a slow or stalled device costs the oldest
blocks (counted in :attr:`Speaker.dropped`), never memory, and never the event loop.

Outputs (``speaker`` in the booth's config, parsed by :func:`parse_speaker`):

* ``null``: frames are taken and counted, not played (tests, the demo, where six booths
  share one machine and one sound card);
* ``default`` / ``device:<name or index>``: a PortAudio output stream through
  sounddevice; PortAudio calls :meth:`DeviceSpeaker._fill` from its own audio thread, which
  takes blocks from the queue and plays silence when there is nothing to play;
* ``wav:<file>``: a recording of what would be played, written by a thread of its own
  (``booth-speaker-wav``): for tests, and to check a booth's audio path without a speaker.

Each output also mixes in the instruction being read out (:attr:`Speaker.narration`,
:mod:`booth.narration`), which pauses while the officer's voice is heard.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np

from booth import limits
from booth.errors import BoothError
from booth.narration import Narration
from hardware.errors import SourceEnded
from hardware.framequeue import DropOldestQueue

log = logging.getLogger(__name__)

SAMPLE_BYTES = 2  # s16


class SpeakerError(BoothError):
    """The loudspeaker named in the config cannot be opened or has stopped."""


class SpeakerKind(enum.StrEnum):
    NULL = "null"
    DEVICE = "device"  # PortAudio (sounddevice); "default" is the system's default output
    WAV = "wav"


def parse_speaker(spec: str) -> tuple[SpeakerKind, str]:
    """``null``, ``default``, ``device:<name|index>`` or ``wav:<file>`` -> (kind, argument).

    Raises ``ValueError`` naming what is allowed.
    """
    if spec == "null":
        return SpeakerKind.NULL, ""
    if spec == "default":
        return SpeakerKind.DEVICE, ""
    kind, sep, arg = spec.partition(":")
    if sep and arg.strip():
        if kind == "device":
            return SpeakerKind.DEVICE, arg.strip()
        if kind == "wav":
            return SpeakerKind.WAV, arg
    raise ValueError(
        f"speaker must be 'null', 'default', 'device:<name or index>' or 'wav:<file>', "
        f"got {spec!r}"
    )


class Speaker:
    """The common part: resampling and the bounded queue. This base plays nothing."""

    kind = SpeakerKind.NULL

    def __init__(self, name: str = "null") -> None:
        self.name = name
        self.queue: DropOldestQueue[np.ndarray] = DropOldestQueue(
            limits.SPEAKER_BUFFER_BLOCKS, name=f"speaker:{name}")
        self.frames = 0  # audio frames received
        self.samples_queued = 0  # samples put into the queue (after resampling)
        self.played = 0  # samples handed to the output
        self.narration = Narration()  # the instruction read out, mixed under the officer
        self._resampler: av.AudioResampler | None = None

    @property
    def dropped(self) -> int:
        """Blocks the output did not take in time (the oldest go first)."""
        return self.queue.dropped

    def open(self) -> None:
        """Start the output (blocking: call it off the event loop). Raises SpeakerError."""

    def close(self) -> None:
        """Stop the output and release it (blocking)."""
        self.queue.close("speaker closed")

    def check(self) -> str | None:
        """``None`` while the output works, else what is wrong with it."""
        return None

    def new_stream(self) -> None:
        """A new call's audio begins: its timestamps start again."""
        self._resampler = None

    def play(self, frame: av.AudioFrame) -> None:
        """Queue one received frame (called on the event loop; never blocks)."""
        self.frames += 1
        if self.kind is SpeakerKind.NULL:
            return
        for block in self._resample(frame):
            self.samples_queued += len(block)
            self.narration.heard(block)
            self.queue.put(block)

    def _resample(self, frame: av.AudioFrame) -> list[np.ndarray]:
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono",
                                                rate=limits.SPEAKER_RATE)
        try:
            out = self._resampler.resample(frame)
        except ValueError:
            # The format changed under the same resampler (another sender): start afresh.
            self._resampler = av.AudioResampler(format="s16", layout="mono",
                                                rate=limits.SPEAKER_RATE)
            out = self._resampler.resample(frame)
        return [f.to_ndarray().reshape(-1).astype(np.int16, copy=False) for f in out]


class WavSpeaker(Speaker):
    """What would be played, written to a WAV file (mono s16) by a thread of its own."""

    kind = SpeakerKind.WAV

    def __init__(self, path: Path) -> None:
        super().__init__(f"wav:{path}")
        self.path = path
        self._thread: threading.Thread | None = None
        self._error: str | None = None

    def open(self) -> None:
        try:
            out = wave.open(str(self.path), "wb")  # noqa: SIM115 - the thread closes it
        except OSError as exc:
            raise SpeakerError(f"speaker {self.name}: cannot write: {exc}") from None
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(limits.SPEAKER_RATE)
        self._thread = threading.Thread(target=self._write, args=(out,),
                                        name="booth-speaker-wav", daemon=True)
        self._thread.start()

    def _write(self, out: wave.Wave_write) -> None:
        # The officer's blocks as they come, the narration mixed into them; while no call
        # sends audio, the narration alone, in real time (one block per block's duration).
        step = int(limits.SPEAKER_RATE * limits.NARRATION_BLOCK_S)
        try:
            while True:
                try:
                    block = self.queue.get(timeout=limits.NARRATION_BLOCK_S)
                except SourceEnded:
                    return
                except TimeoutError:
                    alone = self.narration.take(step)
                    if alone is not None:
                        out.writeframes(alone.tobytes())
                    continue
                block = block.copy()
                self.narration.mix_into(block, len(block))
                out.writeframes(block.tobytes())
                self.played += len(block)
        except OSError as exc:
            self._error = f"cannot write: {exc}"
            log.error("speaker %s: %s", self.name, self._error)
        finally:
            with contextlib.suppress(OSError):
                out.close()

    def check(self) -> str | None:
        return self._error

    def close(self) -> None:
        super().close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(limits.SPEAKER_CLOSE_TIMEOUT_S)


class DeviceSpeaker(Speaker):
    """A PortAudio output stream (sounddevice); PortAudio's thread pulls from the queue."""

    kind = SpeakerKind.DEVICE

    def __init__(self, device: str = "") -> None:
        super().__init__(device or "default")
        self.device: int | str | None = (
            int(device) if device.isdigit() else (device or None))
        self.silent = 0  # samples of silence played because nothing had arrived in time
        self.underflows = 0  # times PortAudio itself reported the device starved
        self._stream: Any = None
        self._rest: np.ndarray = np.zeros(0, np.int16)
        self._priming = True

    def open(self) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:  # libportaudio missing
            raise SpeakerError(f"speaker {self.name}: PortAudio is not available: {exc}") from None
        try:
            stream = sd.OutputStream(
                samplerate=limits.SPEAKER_RATE, channels=1, dtype="int16", device=self.device,
                latency="low", callback=self._fill)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise SpeakerError(f"speaker {self.name}: cannot open: {exc}") from None
        self._stream = stream
        log.info("speaker open", extra={"fields": {"device": str(stream.device),
                                                   "latency_s": stream.latency}})

    def check(self) -> str | None:
        stream = self._stream
        if stream is None:
            return "not open"
        if not stream.active:
            return "the output stream stopped"
        return None

    def close(self) -> None:
        super().close()
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # a device already gone: nothing to release
                stream.stop()
            stream.close()

    def _fill(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        # PortAudio's audio thread: no logging, no allocation beyond the blocks, no waiting.
        if status.output_underflow:
            self.underflows += 1
        filled = self.pull(outdata[:, 0], frames)
        self.played += filled
        self.silent += frames - filled

    def pull(self, out: np.ndarray, frames: int) -> int:
        """Copy up to ``frames`` queued samples into ``out``, silence after; returns how many.

        After running dry it waits for :data:`~booth.limits.SPEAKER_PRIME_BLOCKS` blocks
        before playing again, so a late packet makes one gap rather than a crackle of many.
        """
        filled = self._pull(out, frames)
        self.narration.mix_into(out, frames)
        return filled

    def _pull(self, out: np.ndarray, frames: int) -> int:
        if self._priming and len(self.queue) + (len(self._rest) > 0) < limits.SPEAKER_PRIME_BLOCKS:
            out[:frames] = 0
            return 0
        self._priming = False
        filled = 0
        while filled < frames:
            if not len(self._rest):
                try:
                    block = self.queue.get_nowait()
                except SourceEnded:
                    block = None
                if block is None:
                    self._priming = True
                    break
                self._rest = block
            n = min(frames - filled, len(self._rest))
            out[filled:filled + n] = self._rest[:n]
            self._rest = self._rest[n:]
            filled += n
        out[filled:frames] = 0
        return filled


def make_speaker(spec: str) -> Speaker:
    """The speaker named by the config (not opened yet). Raises ValueError for a bad spec."""
    kind, arg = parse_speaker(spec)
    if kind is SpeakerKind.WAV:
        return WavSpeaker(Path(arg))
    if kind is SpeakerKind.DEVICE:
        return DeviceSpeaker(arg)
    return Speaker()
