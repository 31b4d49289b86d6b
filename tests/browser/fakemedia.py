"""Files that Chromium's fake devices play as the officer's camera and microphone.

``--use-file-for-fake-video-capture`` takes a Y4M file (played at its frame rate, looped)
and ``--use-file-for-fake-audio-capture`` a WAV file. The video is the project's test
pattern: frame ``k`` carries the timecode ``k`` frame periods in ms, its position in the
loop, so a booth that decodes the officer's picture reads where in the file it is. The
sound is a steady tone, which a booth's level meter tells from silence.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from hardware.testpattern import TestPattern

FPS = 15
WIDTH, HEIGHT = 640, 480
TONE_HZ = 440.0
RATE = 48_000


def write_y4m(path: Path, seconds: float = 2.0, fps: int = FPS) -> Path:
    """The test pattern as a Y4M loop; frame ``k`` carries ``round(k * 1000 / fps)``."""
    pattern = TestPattern(WIDTH, HEIGHT)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for k in range(round(seconds * fps)):
            out.write(b"FRAME\n")
            out.write(pattern.render(round(k * 1000 / fps)).tobytes())
    return path


def write_wav(path: Path, seconds: float = 2.0, hz: float = TONE_HZ,
              amplitude: float = 0.3) -> Path:
    """A mono 16-bit tone that loops without a click (whole periods)."""
    periods = max(1, round(seconds * hz))
    samples = round(periods * RATE / hz)
    t = np.arange(samples) / RATE
    wave_data = (np.sin(2 * np.pi * hz * t) * amplitude * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(wave_data.tobytes())
    return path


def chromium_media_args(video: Path, audio: Path) -> list[str]:
    """Flags for a headless Chromium whose camera and microphone are these files, with
    WebRTC on loopback (the hub is on the same PC) and the headset allowed to play."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        f"--use-file-for-fake-audio-capture={audio}",
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
    ]
