"""Voice activity at a booth, from the energy of its decoded audio (a pure core).

The hub consumes every booth's audio, focused or not; a booth out of focus whose
participant speaks lights a "speaking" mark on its tile. A frame is voiced when its
level is above ``threshold_db`` (dBFS); the mark stays on for ``hangover_s`` after the
last voiced frame so that it does not flicker between words.
"""

from __future__ import annotations

import math

import numpy as np

from officer import limits

SILENT_DB = -120.0


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of 16-bit PCM samples in dB relative to full scale (-120 for silence)."""
    if samples.size == 0:
        return SILENT_DB
    data = samples.astype(np.float32)
    rms = math.sqrt(float(np.mean(data * data))) / 32768.0
    if rms <= 0:
        return SILENT_DB
    return max(SILENT_DB, 20 * math.log10(rms))


class VoiceActivity:
    """Speaking or not, from frame levels and the time they were heard (seconds)."""

    def __init__(
        self,
        *,
        threshold_db: float = limits.VAD_THRESHOLD_DB,
        hangover_s: float = limits.VAD_HANGOVER_S,
        min_voiced_frames: int = limits.VAD_MIN_VOICED_FRAMES,
    ) -> None:
        self.threshold_db = threshold_db
        self.hangover_s = hangover_s
        self.min_voiced_frames = min_voiced_frames
        self._run = 0  # consecutive voiced frames
        self._last_voiced: float | None = None
        self.speaking = False

    def update(self, level_db: float, now: float) -> bool:
        if level_db >= self.threshold_db:
            self._run += 1
            if self._run >= self.min_voiced_frames:
                self._last_voiced = now
                self.speaking = True
        else:
            self._run = 0
        return self.at(now)

    def at(self, now: float) -> bool:
        """Whether the mark is on at ``now`` (it goes off after the hangover)."""
        if self.speaking and (
            self._last_voiced is None or now - self._last_voiced > self.hangover_s
        ):
            self.speaking = False
        return self.speaking
