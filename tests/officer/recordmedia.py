"""Real encoded media for the recording's tests: VP8 (libvpx) and Opus (libopus) packets of
a small moving picture and a tone, in the order and at the times a call would bring them."""

from __future__ import annotations

from collections.abc import Iterator

import av
import numpy as np

from officer.recording import Track
from officer.returnmedia import AudioEncoder, VideoEncoder

FPS = 15
FRAME_MS = 1000 // FPS


def _picture(n: int, width: int, height: int) -> av.VideoFrame:
    image = np.zeros((height, width, 3), np.uint8)
    image[:, (n * 4) % width] = 255  # a moving line: every frame differs
    image[..., 1] = (n * 3) % 255
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def _tone(n: int) -> av.AudioFrame:
    t = (np.arange(960) + n * 960) / 48_000
    samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = 48_000
    return frame


class Packets:
    """(ms, track, data, keyframe), booth and officer: 15 fps video, 20 ms audio."""

    def __init__(self) -> None:
        self.booth = VideoEncoder(200_000, FPS)
        self.officer = VideoEncoder(200_000, FPS)
        self.voice = AudioEncoder()
        self.mic = AudioEncoder()

    def forever(self) -> Iterator[tuple[int, Track, bytes, bool]]:
        n = 0
        audio = 0
        while True:
            ms = n * FRAME_MS
            data, key = self.booth.encode(_picture(n, 160, 120), ms * 90, n == 0)
            yield ms, Track.BOOTH_VIDEO, data, key
            data, key = self.officer.encode(_picture(n + 7, 176, 144), ms * 90, n == 0)
            yield ms + 2, Track.OFFICER_VIDEO, data, key
            while audio * 20 <= ms:
                yield audio * 20, Track.BOOTH_AUDIO, self.voice.encode(_tone(audio),
                                                                       audio * 960), True
                yield audio * 20 + 1, Track.OFFICER_AUDIO, self.mic.encode(_tone(audio),
                                                                           audio * 960), True
                audio += 1
            n += 1

    def take(self, seconds: float) -> list[tuple[int, Track, bytes, bool]]:
        out = []
        for item in self.forever():
            if item[0] > seconds * 1000:
                return out
            out.append(item)
        raise AssertionError("unreachable")  # pragma: no cover
