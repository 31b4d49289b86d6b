"""The camera facing the participant: on only while someone is seated (privacy: off while the
booth is idle), its frames teed to the call, the screen's self view and the presence detector,
which tells the agent when the seat empties or fills again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np

from booth import limits
from booth.media import CameraTee
from booth.presence import FaceDetector, PresenceTracker, PresenceUnavailable
from hardware.camera import FrameSource
from hardware.errors import HardwareError

log = logging.getLogger(__name__)


class FaceCamera:
    def __init__(
        self,
        factory: Callable[[], FrameSource],
        tracker: PresenceTracker,
        *,
        on_presence: Callable[[bool], None],
        on_error: Callable[[str], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]],
        detector: FaceDetector | None = None,
    ) -> None:
        self.factory = factory
        self.tracker = tracker
        self.detector = detector  # None: presence detection off
        self._on_presence = on_presence
        self._on_error = on_error
        self._spawn = spawn
        self.tee: CameraTee | None = None
        self._task: asyncio.Task[None] | None = None

    async def load_detector(self, camera: str) -> str:
        """Load the face detector unless one was given; why presence detection is
        unavailable, or "" (a test pattern needs none: it is simply off)."""
        if self.detector is None and camera == "testpattern":
            # Nobody sits in front of a test pattern: looking for a face there would only
            # report every simulated participant as away.
            log.info("presence detection off: the booth camera is the test pattern")
        elif self.detector is None:
            try:
                self.detector = await asyncio.to_thread(FaceDetector)
            except PresenceUnavailable as exc:
                note = f"presence detection unavailable: {exc}"
                log.warning("%s", note)
                return note
        return ""

    def self_view(self) -> np.ndarray | None:
        tee = self.tee
        return tee.latest.image if tee is not None and tee.latest is not None else None

    async def on(self) -> None:
        if self.tee is not None:
            return
        try:
            tee = CameraTee(self.factory())
            tee.start()
        except (HardwareError, ValueError, RuntimeError) as exc:
            self._on_error(str(exc))
            return
        self.tee = tee
        self.tracker.reset()
        if self.detector is not None:
            self._task = self._spawn(self._presence_loop(tee), "booth-presence")

    async def off(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tee, self.tee = self.tee, None
        if tee is not None:
            await tee.aclose()

    async def _presence_loop(self, tee: CameraTee) -> None:
        detector = self.detector
        if detector is None:
            return
        while True:
            await asyncio.sleep(limits.PRESENCE_CHECK_S)
            frame = tee.latest
            if frame is None:
                continue
            # The cascades block for tens of milliseconds: off the event loop.
            seen = await asyncio.to_thread(detector.sees_face, frame.image)
            changed = self.tracker.feed(seen)
            if changed is not None:
                self._on_presence(changed)
