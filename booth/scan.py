"""Document scanning at the booth: the quality gate on the document camera, then capture.

Each frame of the document camera is judged (:func:`hardware.quality.judge`, ~17 ms, in a
worker thread so the event loop stays free) and fed to :class:`~hardware.quality.AutoCapture`;
the screen shows :attr:`DocumentScan.guidance`, the one instruction for what is wrong now
("hold still", "too blurry"...). When enough frames in a row pass, the sharpest
straightened document is encoded as JPEG and handed back. A blurry card is therefore
caught here, in seconds, and never reaches the officer.
"""

from __future__ import annotations

import asyncio
import logging

import cv2

from bilik.catalogue import Message
from booth import limits
from booth.errors import BoothError
from hardware.camera import FrameSource
from hardware.quality import AutoCapture, judge

log = logging.getLogger(__name__)


class DocumentScan:
    def __init__(self, camera: FrameSource, *, frames_to_capture: int | None = None) -> None:
        self.camera = camera
        self.auto = AutoCapture() if frames_to_capture is None else AutoCapture(frames_to_capture)
        self.guidance: Message = self.auto.guidance
        self.frames_judged = 0
        self.rejections: dict[str, int] = {}

    async def capture(self) -> bytes:
        """Judge frames until one document is captured; returns it as JPEG bytes."""
        self.auto.reset()
        self.guidance = self.auto.guidance
        period = 1.0 / limits.SCAN_FPS
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            frame = await self.camera.read_async()
            verdict = await asyncio.to_thread(judge, frame.image)
            self.frames_judged += 1
            for reason in verdict.reasons:
                self.rejections[reason.value] = self.rejections.get(reason.value, 0) + 1
            captured = self.auto.feed(verdict)
            self.guidance = self.auto.guidance
            if captured is not None:
                ok, data = cv2.imencode(".jpg", captured.document,
                                        [cv2.IMWRITE_JPEG_QUALITY, limits.DOC_JPEG_QUALITY])
                if not ok:
                    raise BoothError("the captured document could not be encoded as JPEG")
                return bytes(data)
            await asyncio.sleep(max(0.0, period - (loop.time() - started)))
