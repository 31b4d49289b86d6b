"""Instructions read out at the booth, mixed under the officer's voice, which always wins.

:class:`Narration` holds the spoken instruction (mono s16 at the speaker's rate) and hands
it out block by block to the loudspeaker's output (:mod:`booth.speaker`), which adds it
to whatever it plays. While the officer speaks (a received block louder than
:data:`~booth.limits.OFFICER_VOICE_DBFS` within the last
:data:`~booth.limits.OFFICER_VOICE_HOLD_S`) the narration pauses where it is and goes on
when the officer has been quiet that long: the participant never hears both at once, and
never misses the rest of the instruction.

:class:`Narrator` is the agent's side: when the screen's instruction changes it has the
sentence spoken (espeak-ng's Indonesian voice, cached per sentence, made in a worker
thread), and the repeat key says the current one again. Pure helpers: :func:`resample`
(linear, enough for speech) and :func:`level_dbfs`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bilik.catalogue import Message
from booth import limits
from hardware.speech import Announcements, EspeakVoice, SpeechError, read_wav

log = logging.getLogger(__name__)


def level_dbfs(block: np.ndarray) -> float:
    """RMS level of int16 samples in dB below full scale (-inf for silence or nothing)."""
    if block.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean((block.astype(np.float64) / 32768) ** 2)))
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def resample(samples: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """int16 samples from ``rate`` to ``to_rate`` by linear interpolation."""
    if rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {rate} -> {to_rate}")
    if rate == to_rate or samples.size == 0:
        return samples.astype(np.int16, copy=True)
    n = round(samples.size * to_rate / rate)
    positions = np.arange(n) * (rate / to_rate)
    out = np.interp(positions, np.arange(samples.size), samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class Narration:
    """The instruction being read out; thread-safe (the output's thread takes from it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._samples = np.zeros(0, np.int16)
        self._voice_until = -math.inf
        self.played = 0  # narration samples handed to the output
        self.pauses = 0  # times the officer's voice paused it

    def say(self, samples: np.ndarray) -> None:
        """Read ``samples`` out from the start, instead of whatever was being read."""
        with self._lock:
            self._samples = np.asarray(samples, np.int16).copy()

    def hush(self) -> None:
        with self._lock:
            self._samples = np.zeros(0, np.int16)

    @property
    def remaining(self) -> int:
        with self._lock:
            return int(self._samples.size)

    def heard(self, block: np.ndarray) -> None:
        """A block of the officer's audio arrived: if it is speech, the narration waits."""
        if level_dbfs(block) > limits.OFFICER_VOICE_DBFS:
            with self._lock:
                if self._samples.size and self._clock() >= self._voice_until:
                    self.pauses += 1
                self._voice_until = self._clock() + limits.OFFICER_VOICE_HOLD_S

    def officer_speaking(self) -> bool:
        with self._lock:
            return self._clock() < self._voice_until

    def take(self, n: int) -> np.ndarray | None:
        """Up to ``n`` samples to mix in now; None while there is nothing or it is paused."""
        with self._lock:
            if not self._samples.size or self._clock() < self._voice_until:
                return None
            block, self._samples = self._samples[:n], self._samples[n:]
            self.played += int(block.size)
            return block

    def mix_into(self, out: np.ndarray, n: int) -> int:
        """Add narration to ``out[:n]`` (saturating); returns how many samples it added."""
        block = self.take(n)
        if block is None:
            return 0
        mixed = out[:block.size].astype(np.int32) + block
        out[:block.size] = np.clip(mixed, -32768, 32767)
        return int(block.size)


class Narrator:
    """Reads the booth screen's instruction aloud; ``enabled`` is the booth's setting."""

    def __init__(self, narration: Narration, cache_dir: Path, *, enabled: bool = True,
                 voice: str = "id", rate: int = limits.SPEAKER_RATE) -> None:
        self.narration = narration
        self.enabled = enabled
        self.rate = rate
        self.sounds = Announcements(cache_dir, EspeakVoice(voice), chime=False)
        self.current: Message | None = None  # the instruction on the screen
        self.spoken: list[str] = []  # sentences read out, newest last (tests, logs)
        self.problem = ""  # why nothing can be read out, if so
        self._task: asyncio.Task[None] | None = None

    def show(self, instruction: Message | None) -> None:
        """The screen shows ``instruction`` (its first line): read it out if it is new."""
        if instruction == self.current:
            return
        self.current = instruction
        if instruction is None:
            self.narration.hush()
            return
        self._read(instruction)

    def repeat(self) -> None:
        """The repeat key: the current instruction again, from its start."""
        if self.current is not None:
            self._read(self.current)

    def _read(self, instruction: Message) -> None:
        if not self.enabled or self.problem:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()  # a newer instruction wins over one still being made
        self._task = asyncio.get_running_loop().create_task(
            self._speak(instruction.id), name="booth-narrator")

    async def _speak(self, sentence: str) -> None:
        try:
            name = await asyncio.to_thread(self.sounds.wav, sentence)
            data = await asyncio.to_thread((self.sounds.directory / name).read_bytes)
            rate, samples = read_wav(data)
        except (SpeechError, OSError) as exc:
            self.problem = f"instructions cannot be read out: {exc}"
            log.warning("%s", self.problem)
            return
        self.narration.say(resample(samples, rate, self.rate))
        self.spoken = [*self.spoken[-15:], sentence]

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
