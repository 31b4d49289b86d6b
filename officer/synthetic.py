"""The hub's own pictures and sounds, made in the encoding threads of
:class:`~officer.returnmedia.EncodedStream`: the "please wait" card, silence, and the
synthetic officer (a camera source and a tone) used when no console media is connected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import av
import numpy as np

from officer import limits
from officer.card import render_wait_card
from officer.config import HubConfig
from officer.returnmedia import AUDIO_FRAME_SAMPLES, AUDIO_RATE, EncodedStream, ReturnStreams

log = logging.getLogger(__name__)


class StillPicture:
    """A fixed picture (the "please wait" card) at a low frame rate."""

    kind = "video"

    def __init__(self, image_bgr: np.ndarray, fps: float) -> None:
        self.period_s = 1 / fps
        self._frame = av.VideoFrame.from_ndarray(image_bgr, format="bgr24").reformat(
            format="yuv420p"
        )
        self._yuv = self._frame.to_ndarray()

    def produce(self, at: float) -> av.VideoFrame:
        # A fresh frame object each time: the encoder stamps pts and picture type on it.
        return av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")

    def close(self) -> None:
        pass


class CameraPicture:
    """The officer's camera (any :class:`hardware.camera.FrameSource`), newest frame."""

    kind = "video"

    def __init__(self, source: object, fps: float) -> None:
        self.source = source
        self.period_s = 1 / fps

    def produce(self, at: float) -> av.VideoFrame | None:
        try:
            frame = self.source.read(timeout=self.period_s)  # type: ignore[attr-defined]
        except TimeoutError:
            return None
        except Exception as exc:  # SourceEnded and device errors: no picture this slot
            log.debug("officer camera: %s", exc)
            return None
        return av.VideoFrame.from_ndarray(frame.image, format="bgr24")

    def close(self) -> None:
        self.source.stop()  # type: ignore[attr-defined]


class Sound:
    """20 ms mono frames from ``render(at, samples) -> int16 array`` (tone, silence, mic),
    one every ``period_s`` (20 ms: continuous sound)."""

    kind = "audio"

    def __init__(self, render: Callable[[float, int], np.ndarray], period_s: float = 0.02) -> None:
        if period_s < 0.02:
            raise ValueError(f"a 20 ms frame every {period_s} s would overlap the next")
        self.render = render
        self.period_s = period_s

    def produce(self, at: float) -> av.AudioFrame:
        samples = np.asarray(self.render(at, AUDIO_FRAME_SAMPLES), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        return frame

    def close(self) -> None:
        pass


def silence(at: float, samples: int) -> np.ndarray:
    return np.zeros(samples, dtype=np.int16)


def tone(frequency_hz: float = 440.0, amplitude: float = 0.2) -> Callable[[float, int], np.ndarray]:
    """A sine tone as a stand-in microphone (tests, demo): continuous across frames."""

    def render(at: float, samples: int) -> np.ndarray:
        start = round(at / 0.02) * samples
        n = np.arange(start, start + samples)
        wave = np.sin(2 * np.pi * frequency_hz * n / AUDIO_RATE) * amplitude * 32767
        return wave.astype(np.int16)

    return render


def hub_streams(config: HubConfig) -> ReturnStreams:
    """The card and silence, and (``synthetic_officer``) the synthetic officer's camera
    (test pattern with timecode) and tone for when no console media is connected."""
    card = EncodedStream("card", StillPicture(render_wait_card(), limits.CARD_FPS),
                         bitrate=limits.CARD_BITRATE, clock=time.time)
    quiet = EncodedStream("silence", Sound(silence, limits.SILENCE_PERIOD_S),
                          bitrate=limits.RETURN_AUDIO_BITRATE, clock=time.time)
    if not config.synthetic_officer:
        return ReturnStreams(None, card, None, quiet)
    from hardware.camera import SyntheticSource
    from hardware.testpattern import TestPattern

    fps = limits.RETURN_VIDEO_FPS
    pattern = TestPattern(640, 480)
    camera = SyntheticSource(pattern.render_bgr, fps, name="officer-camera", clock=time.time)
    camera.start()
    # Stream timestamps come from one wall clock so that switching keeps RTP in step.
    return ReturnStreams(
        officer_video=EncodedStream("officer-video", CameraPicture(camera, fps),
                                    bitrate=limits.RETURN_VIDEO_BITRATE, clock=time.time),
        card=card,
        officer_audio=EncodedStream("officer-audio", Sound(tone(440.0, 0.2)),
                                    bitrate=limits.RETURN_AUDIO_BITRATE, clock=time.time),
        quiet=quiet,
    )
