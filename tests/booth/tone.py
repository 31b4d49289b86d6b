"""The officer's microphone for tests: a 440 Hz tone that can be switched off, and the FFT
that finds it again in what the booth played."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

TONE_HZ = 440.0
RATE = 48_000
PTIME_S = 0.02


class ToneTrack(MediaStreamTrack):
    """Real-time 48 kHz mono frames: a sine while :attr:`speaking`, silence otherwise."""

    kind = "audio"

    def __init__(self, hz: float = TONE_HZ, amplitude: float = 0.3) -> None:
        super().__init__()
        self.hz = hz
        self.amplitude = amplitude
        self.speaking = False
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = int(RATE * PTIME_S)
        if self._start is None:
            self._start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._start + self._samples / RATE - time.monotonic()))
        t = (self._samples + np.arange(n)) / RATE
        wave = self.amplitude * np.sin(2 * np.pi * self.hz * t) if self.speaking else np.zeros(n)
        frame = av.AudioFrame.from_ndarray((wave * 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, RATE)
        self._samples += n
        return frame


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    """The frequency with the most energy (Hann window, real FFT)."""
    x = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    """Root mean square, as a fraction of full scale."""
    x = samples.astype(np.float64) / 32768
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
