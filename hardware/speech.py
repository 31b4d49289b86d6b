"""Speech made on this machine: espeak-ng's Indonesian voice, a chime, cached WAV files.

:class:`EspeakVoice` runs the ``espeak-ng`` program (Debian package ``espeak-ng``; its
``id`` voice ships in ``espeak-ng-data``) and returns a WAV; nothing is downloaded at run
time. :class:`Announcements` puts a two-tone chime, a short pause and the spoken phrase in
one WAV per phrase, cached under a directory by a hash of (voice, speed, phrase), so that
a number called again costs nothing and a page plays one file per call.

Pure helpers: :func:`chime` (the tone, as 16-bit samples), :func:`wav_bytes`,
:func:`read_wav` and :func:`measure` (duration and loudness, for tests and self-test).
Why espeak-ng and not a neural voice: docs/frontdesk.md ("Calls spoken aloud").
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hardware import limits
from hardware.errors import HardwareError

SAMPLE_RATE = 22050  # espeak-ng's own output rate; the chime is made at the same rate
NAME_HASH_CHARS = 24  # cached file names: this many hex digits of the phrase's SHA-256


class SpeechError(HardwareError):
    """Speech could not be made (no espeak-ng, no such voice, a bad WAV...)."""


@dataclass(frozen=True)
class Loudness:
    duration_s: float
    rms_dbfs: float  # root mean square level, dB below full scale (-inf: silence)
    peak: float  # 0..1 of full scale


def chime(rate: int = SAMPLE_RATE) -> np.ndarray:
    """A soft two-tone "ding-dong" (E5 then C5) as int16 samples, each tone fading out."""
    parts = []
    for freq in limits.CHIME_TONES_HZ:
        n = int(rate * limits.CHIME_TONE_S)
        t = np.arange(n) / rate
        tone = np.sin(2 * math.pi * freq * t) + 0.3 * np.sin(4 * math.pi * freq * t)
        envelope = np.exp(-t * 4.0) * np.minimum(1.0, t / 0.01)  # no click at the start
        parts.append(tone * envelope / 1.3)
    samples = np.concatenate(parts) * limits.CHIME_LEVEL * 32767
    return samples.astype(np.int16)


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """Mono 16-bit PCM WAV of ``samples``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return out.getvalue()


def read_wav(data: bytes) -> tuple[int, np.ndarray]:
    """(rate, int16 samples) of a mono 16-bit WAV; SpeechError for anything else."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise SpeechError(f"expected mono 16-bit WAV, got {w.getnchannels()} "
                                  f"channel(s) of {8 * w.getsampwidth()} bit")
            rate = w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SpeechError(f"not a WAV file: {exc}") from None
    return rate, np.frombuffer(frames, dtype="<i2")


def measure(data: bytes) -> Loudness:
    rate, samples = read_wav(data)
    if samples.size == 0:
        return Loudness(0.0, -math.inf, 0.0)
    level = samples.astype(np.float64) / 32768
    rms = float(np.sqrt(np.mean(level ** 2)))
    dbfs = 20 * math.log10(rms) if rms > 0 else -math.inf
    return Loudness(samples.size / rate, dbfs, float(np.max(np.abs(level))))


class EspeakVoice:
    """The ``espeak-ng`` program with one voice (``id``: Indonesian) at one speed."""

    def __init__(self, voice: str = "id", *, words_per_minute: int = limits.SPEECH_WPM,
                 program: str = "espeak-ng") -> None:
        if not limits.SPEECH_WPM_MIN <= words_per_minute <= limits.SPEECH_WPM_MAX:
            raise ValueError(f"speech speed must be {limits.SPEECH_WPM_MIN}.."
                             f"{limits.SPEECH_WPM_MAX} words a minute, got {words_per_minute}")
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.program = program

    def check(self) -> None:
        """SpeechError unless the program is installed and has this voice."""
        path = shutil.which(self.program)
        if path is None:
            raise SpeechError(f"{self.program} is not installed (apt-get install espeak-ng)")
        listing = self._run([path, f"--voices={self.voice}"]).decode("utf-8", "replace")
        if not any(line.split()[1:2] == [self.voice] for line in listing.splitlines()[1:]):
            raise SpeechError(f"{self.program} has no voice {self.voice!r}")

    def synthesize(self, phrase: str) -> bytes:
        """The phrase spoken, as a WAV (mono, 16 bit, 22050 Hz)."""
        if not phrase.strip() or len(phrase) > limits.SPEECH_MAX_CHARS or "\0" in phrase:
            raise SpeechError(f"cannot speak {phrase[:40]!r}: empty, too long or not text")
        # --stdout and the phrase as an argument: no temporary file, no shell.
        data = self._run([self.program, "-v", self.voice, "-s", str(self.words_per_minute),
                          "--stdout", "--", phrase])
        rate, samples = read_wav(data)
        if rate != SAMPLE_RATE or samples.size == 0:
            raise SpeechError(f"{self.program} gave {samples.size} samples at {rate} Hz")
        return wav_bytes(samples, rate)  # re-written: espeak's streamed header has no length

    @staticmethod
    def _run(argv: list[str]) -> bytes:
        try:
            done = subprocess.run(argv, capture_output=True, timeout=limits.SPEECH_TIMEOUT_S,
                                  check=False)
        except FileNotFoundError:
            raise SpeechError(f"{argv[0]} is not installed (apt-get install espeak-ng)") from None
        except subprocess.TimeoutExpired:
            raise SpeechError(
                f"{argv[0]} took longer than {limits.SPEECH_TIMEOUT_S:g} s") from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip()[:200]
            raise SpeechError(f"{argv[0]} failed ({done.returncode}): {why}")
        return done.stdout


class Announcements:
    """One cached WAV per phrase: chime, pause, the phrase spoken. Thread-safe enough: each
    file is written to a temporary name and renamed into place."""

    def __init__(self, directory: Path, voice: EspeakVoice, *, chime: bool = True) -> None:
        self.directory = directory
        self.voice = voice
        self.chime = chime  # False: the words alone (the booth's instructions)
        self.made = 0  # files synthesized (not taken from the cache), for tests and metrics

    def name_for(self, phrase: str) -> str:
        key = f"{self.voice.voice}\n{self.voice.words_per_minute}\n{self.chime}\n{phrase}".encode()
        return hashlib.sha256(key).hexdigest()[:NAME_HASH_CHARS] + ".wav"

    def path(self, name: str) -> Path | None:
        """The cached file called ``name``, if it is one of ours and exists."""
        stem, _, ext = name.partition(".")
        if ext != "wav" or len(stem) != NAME_HASH_CHARS or not all(
                c in "0123456789abcdef" for c in stem):
            return None
        path = self.directory / name
        return path if path.is_file() else None

    def wav(self, phrase: str) -> str:
        """The file name of ``phrase``'s announcement, made now if not cached (blocking)."""
        name = self.name_for(phrase)
        target = self.directory / name
        if target.is_file():
            return name
        speech = read_wav(self.voice.synthesize(phrase))[1]
        if self.chime:
            pause = np.zeros(int(SAMPLE_RATE * limits.CHIME_PAUSE_S), dtype=np.int16)
            speech = np.concatenate([chime(), pause, speech])
        data = wav_bytes(speech)
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(f".{os.getpid()}.tmp")
        temp.write_bytes(data)
        temp.replace(target)
        self.made += 1
        return name
