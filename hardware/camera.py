"""Camera sources: real cameras through OpenCV, synthetic and replayed sources, an aiortc track.

Every source captures in its own named thread into a :class:`DropOldestQueue`, so a slow
reader never makes the device back up and never grows memory; readers take frames with
:meth:`read` (threads) or :meth:`read_async` (asyncio, never blocking the loop). Each
:class:`Frame` carries the clock reading taken when it was captured, which
:class:`SourceTrack` turns into RTP timestamps (90 kHz), so the far end sees the real
capture timing rather than the time the encoder got round to the frame.

    with OpenCVCamera(0, 1280, 720, 30) as camera:
        pc.addTrack(SourceTrack(camera))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import av
import cv2
import numpy as np
from aiortc.mediastreams import (
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    MediaStreamError,
    VideoStreamTrack,
)

from hardware.errors import CameraBusy, CameraError, CameraNotFound, ImageUnreadable, SourceEnded
from hardware.framequeue import DropOldestQueue
from hardware.picture import as_bgr, load_image

log = logging.getLogger(__name__)

# Named limits of the capture shells.
FRAME_QUEUE_SIZE = 2  # frames waiting for the reader; more is only latency
JOIN_TIMEOUT_S = 3.0  # a capture thread that has not stopped by then is reported as stuck
MAX_READ_FAILURES = 30  # consecutive failed device reads (about 1 s at 30 fps) ends the source
READ_RETRY_S = 0.03  # pause after a failed device read before trying again
MAX_FPS = 120.0  # a rate above this is a typo, not a camera

Clock = Callable[[], float]


@dataclass(frozen=True)
class Frame:
    """One captured picture: BGR ``uint8`` array (H x W x 3), the capture time read from the
    source's clock (``time.monotonic`` unless injected), and its number since start."""

    image: np.ndarray
    captured_at: float
    index: int


@runtime_checkable
class FrameSource(Protocol):
    """What the booth, the quality gate and :class:`SourceTrack` need from a camera."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def read(self, timeout: float | None = None) -> Frame: ...

    async def read_async(self) -> Frame: ...


async def start_source(source: FrameSource) -> None:
    """Start ``source`` (opening a device can block) in a worker thread.

    If the caller is cancelled meanwhile, the start still runs to its end in its thread:
    the source is then stopped before the cancellation goes on, so no capture thread is
    left running that nobody owns (a booth stopping while it opened its document camera).
    """
    if getattr(source, "running", False):
        return
    starting = asyncio.ensure_future(asyncio.to_thread(source.start))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await starting
        await asyncio.to_thread(source.stop)
        raise


def _check_fps(fps: float) -> float:
    if not (0 < fps <= MAX_FPS):
        raise ValueError(f"fps must be in (0, {MAX_FPS}], got {fps}")
    return float(fps)


class ThreadedSource:
    """Base of the sources: a named capture thread feeding a drop-oldest queue.

    Subclasses implement :meth:`_open` (in the caller's thread, so that a missing device
    fails ``start()`` with a clear error), :meth:`_capture` (in the thread; returns the
    next picture or ``None`` at the end) and :meth:`_release`.
    """

    def __init__(
        self, name: str, *, queue_size: int = FRAME_QUEUE_SIZE, clock: Clock = time.monotonic
    ) -> None:
        self.name = name
        self.clock = clock
        self.queue: DropOldestQueue[Frame] = DropOldestQueue(queue_size, name=name)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self.error: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            raise RuntimeError(f"{self.name}: already started (a source runs once)")
        self._open()
        self._started = True
        self._thread = threading.Thread(target=self._run, name=f"camera:{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing and join the thread; readers then get :class:`SourceEnded`."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():  # pragma: no cover - a driver stuck in a blocking read
                log.error("%s: capture thread did not stop within %s s", self.name, JOIN_TIMEOUT_S)
        self.queue.close("stopped")

    close = stop

    def __enter__(self) -> ThreadedSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def dropped(self) -> int:
        """Frames captured but never read because a newer one replaced them."""
        return self.queue.dropped

    # -- reading ----------------------------------------------------------------------------

    def read(self, timeout: float | None = None) -> Frame:
        """Next frame (blocking; from a thread). :class:`TimeoutError`, :class:`SourceEnded`."""
        return self.queue.get(timeout)

    async def read_async(self) -> Frame:
        """Next frame without blocking the event loop; :class:`SourceEnded` once stopped."""
        return await self.queue.get_async()

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        index = 0
        reason = "stopped"
        try:
            while not self._stop.is_set():
                image = self._capture()
                if image is None:
                    if not self._stop.is_set():
                        reason = self.error or "end of source"
                    break
                self.queue.put(Frame(image, self.clock(), index))
                index += 1
        except Exception as exc:  # a bad render or driver fault ends the source, visibly
            self.error = f"{type(exc).__name__}: {exc}"
            reason = self.error
            log.exception("%s: capture failed", self.name)
        finally:
            self._release()
            self.queue.close(reason)

    def _open(self) -> None:
        """Acquire the device; raise a :class:`CameraError` subclass when it cannot be had."""

    def _capture(self) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:
        """Give the device back (runs in the capture thread as it exits)."""


class ScheduledSource(ThreadedSource):
    """A source that makes its own pictures at ``fps`` on a monotonic schedule.

    Frame ``i`` is due at ``t0 + i / fps``; a thread that falls more than one frame behind
    re-anchors instead of bursting to catch up.
    """

    def __init__(
        self,
        name: str,
        fps: float,
        *,
        queue_size: int = FRAME_QUEUE_SIZE,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(name, queue_size=queue_size, clock=clock)
        self.fps = _check_fps(fps)
        self._t0: float | None = None
        self._due_index = 0

    def _wait_for_slot(self) -> bool:
        now = self.clock()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._due_index / self.fps
        if now - due > 1.0 / self.fps:
            self._t0, self._due_index, due = now, 0, now
        self._due_index += 1
        return not self._stop.wait(max(0.0, due - now))


class SyntheticSource(ScheduledSource):
    """Adapter for any ``render(t) -> BGR ndarray``, such as the moving test pattern.

    ``t`` is the capture time from ``clock`` (the same value stored in
    :attr:`Frame.captured_at`), so a pattern that prints its timecode can be compared with
    the timestamps at the far end.
    """

    def __init__(
        self,
        render: Callable[[float], np.ndarray],
        fps: float = 30.0,
        *,
        name: str = "synthetic",
        queue_size: int = FRAME_QUEUE_SIZE,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(name, fps, queue_size=queue_size, clock=clock)
        self.render = render

    def _run(self) -> None:
        # Rendering and stamping happen at the same instant: t is the capture time.
        index = 0
        reason = "stopped"
        try:
            while self._wait_for_slot():
                t = self.clock()
                image = as_bgr(self.render(t), f"{self.name}: render({t:.3f})")
                self.queue.put(Frame(image, t, index))
                index += 1
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            reason = self.error
            log.exception("%s: render failed", self.name)
        finally:
            self.queue.close(reason)


class ImageReplaySource(ScheduledSource):
    """Replays still images (paths or arrays) at ``fps``, looping by default.

    All images are read and checked up front, so a bad file fails the constructor with
    :class:`ImageUnreadable` instead of a half-working source.
    """

    def __init__(
        self,
        images: Sequence[str | Path | np.ndarray],
        fps: float = 15.0,
        *,
        loop: bool = True,
        name: str = "replay",
        queue_size: int = FRAME_QUEUE_SIZE,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(name, fps, queue_size=queue_size, clock=clock)
        if isinstance(images, str | Path | np.ndarray):
            raise TypeError("images must be a sequence of paths or arrays, not a single one")
        if len(images) == 0:
            raise ImageUnreadable(f"{name}: no images to replay")
        self.images = [
            load_image(item) if isinstance(item, str | Path) else as_bgr(item, f"{name}: image {i}")
            for i, item in enumerate(images)
        ]
        self.loop = loop
        self._next = 0

    def _capture(self) -> np.ndarray | None:
        if not self._wait_for_slot():
            return None
        if self._next >= len(self.images):
            if not self.loop:
                self.error = "end of images"
                return None
            self._next = 0
        image = self.images[self._next].copy()  # readers may draw on their frame
        self._next += 1
        return image


def _device_path(device: int | str) -> str | None:
    """The filesystem path behind ``device`` when there is one to check, else ``None``."""
    if isinstance(device, int):
        return f"/dev/video{device}" if sys.platform.startswith("linux") else None
    if "://" in device or "!" in device:  # a stream URL or a GStreamer pipeline
        return None
    return device


class OpenCVCamera(ThreadedSource):
    """A camera (``/dev/videoN`` index or path) or a video file, captured by OpenCV.

    Asks the device for ``width`` x ``height`` at ``fps`` (the driver may pick the nearest
    mode; :attr:`actual` reports what it gave). Video files are paced at ``fps``, since
    OpenCV would otherwise read them as fast as it can.
    """

    def __init__(
        self,
        device: int | str = 0,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        *,
        api: int = cv2.CAP_ANY,
        queue_size: int = FRAME_QUEUE_SIZE,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(f"opencv:{device}", queue_size=queue_size, clock=clock)
        if width < 1 or height < 1:
            raise ValueError(f"width and height must be positive, got {width}x{height}")
        self.device = device
        self.width = width
        self.height = height
        self.fps = _check_fps(fps)
        self.api = api
        self.actual: tuple[int, int, float] = (0, 0, 0.0)
        self._capture_dev: cv2.VideoCapture | None = None
        path = _device_path(device)
        self._is_file = path is not None and not path.startswith("/dev/")
        self._path = path
        self._failures = 0
        self._last = 0.0

    def _open(self) -> None:
        if self._path is not None and not os.path.exists(self._path):
            raise CameraNotFound(
                self.name,
                f"camera {self.device!r}: {self._path} does not exist",
                "check the cable and `bilik hw devices`",
            )
        cap = cv2.VideoCapture(self.device, self.api)
        if not cap.isOpened():
            cap.release()
            raise CameraBusy(
                self.name,
                f"camera {self.device!r} exists but could not be opened",
                "is another program using it, or is the user outside the 'video' group?",
            )
        if not self._is_file:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
        self.actual = (
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            float(cap.get(cv2.CAP_PROP_FPS)),
        )
        log.info("%s: opened at %dx%d %.1f fps", self.name, *self.actual)
        self._capture_dev = cap

    def _capture(self) -> np.ndarray | None:
        cap = self._capture_dev
        if cap is None:  # pragma: no cover - _open always sets it before the thread starts
            raise CameraError(f"{self.name}: not open")
        if self._is_file:
            delay = self._last + 1.0 / self.fps - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return None
            self._last = time.monotonic()
        while not self._stop.is_set():
            ok, image = cap.read()
            if ok and image is not None:
                self._failures = 0
                return as_bgr(image, self.name)
            if self._is_file:
                self.error = "end of video file"
                return None
            self._failures += 1
            if self._failures >= MAX_READ_FAILURES:
                self.error = f"device stopped answering ({self._failures} failed reads in a row)"
                log.error("%s: %s", self.name, self.error)
                return None
            self._stop.wait(READ_RETRY_S)
        return None

    def _release(self) -> None:
        if self._capture_dev is not None:
            self._capture_dev.release()
            self._capture_dev = None

    def stop(self) -> None:
        super().stop()
        if not self._started:
            self._release()


class SourceTrack(VideoStreamTrack):
    """An aiortc video track that sends a :class:`FrameSource`'s frames.

    ``pts`` is the capture time relative to the first frame, in 90 kHz units, so frame
    timing reflects the camera, not the encoder. When the source ends, the track ends
    (``recv`` raises :class:`MediaStreamError`, as aiortc expects). ``owns_source=True``
    stops the source when the track is stopped.
    """

    kind = "video"

    def __init__(self, source: FrameSource, *, owns_source: bool = False) -> None:
        super().__init__()
        self.source = source
        self.owns_source = owns_source
        self._t0: float | None = None
        self._last_pts = -1
        self.frames_sent = 0

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            frame = await self.source.read_async()
        except SourceEnded:
            self.stop()
            raise MediaStreamError from None
        if self._t0 is None:
            self._t0 = frame.captured_at
        pts = round((frame.captured_at - self._t0) * VIDEO_CLOCK_RATE)
        if pts <= self._last_pts:  # equal stamps (coarse clocks) must still advance
            pts = self._last_pts + 1
        self._last_pts = pts
        video = av.VideoFrame.from_ndarray(frame.image, format="bgr24")
        video.pts = pts
        video.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return video

    def stop(self) -> None:
        super().stop()
        if self.owns_source:
            self.source.stop()
