"""The booth's media: its camera and microphone out, the officer's video and voice in.

Sending: the booth camera is a :class:`~hardware.camera.FrameSource` (OpenCV device, or the
synthetic test pattern) whose capture thread hands frames through a drop-oldest queue of
two; the microphone is an ALSA device through PyAV, or silence (tests, the demo, a booth
without one). Receiving: :class:`IncomingMedia` consumes *every* frame of the officer's
tracks as it is decoded (an unread track would make aiortc queue frames without bound)
and keeps only the newest video frame for the screen, counting the ones it replaced, so
memory stays flat however long the session and however slow the screen. The officer's
audio goes to the booth's :class:`~booth.speaker.Speaker` (its own bounded queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from bilik.tasks import TaskSet
from booth.config import BoothConfig
from booth.errors import BoothError
from booth.speaker import Speaker
from hardware.camera import Frame, FrameSource, OpenCVCamera, SyntheticSource
from hardware.errors import SourceEnded
from hardware.framequeue import DropOldestQueue
from hardware.testpattern import TestPattern

log = logging.getLogger(__name__)


def make_camera(config: BoothConfig, clock: Callable[[], float] = time.time) -> FrameSource:
    """The booth camera named by ``config.camera``: ``testpattern`` or an OpenCV device."""
    if config.camera == "testpattern":
        pattern = TestPattern(config.width, config.height)
        return SyntheticSource(pattern.render_bgr, config.fps, name="testpattern", clock=clock)
    device: int | str = int(config.camera) if config.camera.isdigit() else config.camera
    return OpenCVCamera(device, config.width, config.height, config.fps, clock=clock)


def make_microphone(config: BoothConfig) -> MediaStreamTrack:
    """The microphone track: silence, or ``alsa:<device>`` opened through PyAV."""
    if config.microphone == "silence":
        return AudioStreamTrack()
    if config.microphone.startswith("alsa:"):
        from aiortc.contrib.media import MediaPlayer

        try:
            player = MediaPlayer(config.microphone.removeprefix("alsa:"), format="alsa")
        except (av.FFmpegError, OSError) as exc:
            raise BoothError(f"microphone {config.microphone}: cannot open: {exc}") from None
        if player.audio is None:
            raise BoothError(f"microphone {config.microphone}: no audio stream")
        return player.audio
    raise BoothError(f"microphone must be 'silence' or 'alsa:<device>', got {config.microphone!r}")


class IncomingMedia:
    """Consumes the officer's tracks; the newest video frame waits for the screen."""

    def __init__(self, speaker: Speaker | None = None) -> None:
        self.speaker = speaker or Speaker()
        self.video_frames = 0  # decoded frames received
        self.audio_frames = 0
        self.dropped = 0  # video frames replaced before the screen took them
        self._latest: av.VideoFrame | None = None
        self._picture: np.ndarray | None = None
        self._tasks = TaskSet()

    def attach(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self.speaker.new_stream()
        consume = self._video(track) if track.kind == "video" else self._audio(track)
        self._tasks.spawn(consume, f"booth-in-{track.kind}")

    async def _video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.VideoFrame):
                continue
            self.video_frames += 1
            if self._latest is not None:
                self.dropped += 1
            self._latest = frame

    async def _audio(self, track: MediaStreamTrack) -> None:
        # Every frame is taken (so nothing piles up in aiortc) and handed to the speaker,
        # whose queue is bounded: a slow output loses the oldest audio, not memory.
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.audio_frames += 1
            if isinstance(frame, av.AudioFrame):
                self.speaker.play(frame)

    def picture(self) -> np.ndarray | None:
        """The newest officer picture (BGR) for the screen; the last one if nothing new."""
        frame, self._latest = self._latest, None
        if frame is not None:
            self._picture = frame.to_ndarray(format="bgr24")
        return self._picture

    def forget(self) -> None:
        """The call ended: no stale officer picture on the next session's screen."""
        self._latest = None
        self._picture = None

    async def close(self) -> None:
        await self._tasks.cancel_all()
        self.forget()


class CameraTee:
    """One camera, three readers: the call's track, the self view and the presence check.

    A camera's queue has one reader (two would split the frames between them), so one task
    reads the camera and hands each frame to the track's own drop-oldest queue, keeping the
    newest for the screen and the face detector. It is itself a :class:`FrameSource` for
    :class:`~hardware.camera.SourceTrack`.
    """

    def __init__(self, camera: FrameSource) -> None:
        self.camera = camera
        self.name = f"tee:{camera.name}"
        self.queue: DropOldestQueue[Frame] = DropOldestQueue(2, name=self.name)
        self.latest: Frame | None = None
        self.frames = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def dropped(self) -> int:
        return self.queue.dropped + int(getattr(self.camera, "dropped", 0))

    def start(self) -> None:
        self.camera.start()
        self._task = asyncio.get_running_loop().create_task(self._pump(), name=self.name)

    async def _pump(self) -> None:
        try:
            while True:
                frame = await self.camera.read_async()
                self.latest = frame
                self.frames += 1
                self.queue.put(frame)
        except SourceEnded as exc:
            self.queue.close(str(exc))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.camera.stop()
        self.queue.close("stopped")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self.camera.stop)
        self.queue.close("stopped")

    def read(self, timeout: float | None = None) -> Frame:
        return self.queue.get(timeout)

    async def read_async(self) -> Frame:
        return await self.queue.get_async()
