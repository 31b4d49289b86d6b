"""The participant's documents at the booth: scanned on the document camera, spooled, uploaded.

While the booth is ``scanning`` one scan loop holds the document camera (the ticket camera lets
go of it first): it captures the kind the state machine asks for next (:attr:`Booth.
scanning_kind`) through the quality gate (:class:`booth.scan.DocumentScan`), spools it and
uploads it (:class:`booth.upload.Uploader`, retried until the server confirms), with what OCR
read for the officer. Each capture and upload becomes an event for the state machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bilik.catalogue import Message
from booth import selftest
from booth import state as st
from booth.scan import CameraCannotReach, DocumentScan
from booth.upload import Uploader, UploadRefused, send_reading
from hardware.camera import FrameSource, start_source
from hardware.errors import HardwareError
from hardware.ocr import Reader, Reading

log = logging.getLogger(__name__)


class BoothDocuments:
    def __init__(
        self,
        uploader: Uploader,
        camera: Callable[[], FrameSource] | None,
        *,
        booth: Callable[[], st.Booth],
        dispatch: Callable[[st.Event], None],
        now: Callable[[], float],
        device_health: Callable[[str, str], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]],
        scan_frames: int | None = None,
    ) -> None:
        self.uploader = uploader
        self.camera_factory = camera
        self._booth = booth
        self._dispatch = dispatch
        self._now = now
        self._device_health = device_health
        self._spawn = spawn
        self._scan_frames = scan_frames
        self.scan: DocumentScan | None = None
        self.camera_lock = asyncio.Lock()  # one user at a time: ticket QR or scan
        self._notice: tuple[str, Message] | None = None  # a kind the camera cannot read
        self._ocr = Reader()  # loads Tesseract on the first document that carries a NIK
        self._camera: FrameSource | None = None
        self._task: asyncio.Task[None] | None = None

    def guidance(self) -> Message | None:
        """What the screen says about the document being scanned, if anything."""
        if self.scan is not None and self.scan.frames_judged:
            return self.scan.guidance
        if self._notice is not None and self._notice[0] == self._booth().scanning_kind:
            return self._notice[1]
        return None

    def resend_spooled(self) -> None:
        """Upload what was captured before a restart."""
        for item in self.uploader.pending():
            self._spawn(self._send(item.kind, item), f"booth-upload-{item.kind}")

    def start_scan(self) -> None:
        if self._task is None or self._task.done():
            self._task = self._spawn(self._scan_loop(), "booth-scan")

    async def stop_scan(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_camera()

    async def close(self) -> None:
        await self.stop_scan()
        await self.uploader.close()
        await asyncio.to_thread(self._ocr.close)

    async def _close_camera(self) -> None:
        camera, self._camera = self._camera, None
        self.scan = None
        if camera is not None:
            await asyncio.to_thread(camera.stop)

    async def _scan_loop(self) -> None:
        factory = self.camera_factory
        if factory is None:
            self._device_health("document_camera", selftest.error("not configured"))
            return
        async with self.camera_lock:  # the ticket camera lets go of it first
            await self._scan_with(factory)

    async def _scan_with(self, factory: Callable[[], FrameSource]) -> None:
        try:
            camera = factory()
            await start_source(camera)  # stopped again if the booth stops meanwhile
        except (HardwareError, ValueError, RuntimeError) as exc:
            self._device_health("document_camera", selftest.error(str(exc)))
            return
        self._camera = camera
        try:
            self.scan = DocumentScan(camera, frames_to_capture=self._scan_frames,
                                     reader=self._ocr)
            while self._booth().state is st.BoothState.SCANNING:
                kind = self._booth().scanning_kind
                if kind is None:
                    break
                try:
                    data = await self.scan.capture(kind)
                except CameraCannotReach as exc:
                    # Said on the screen and to the officer at once, not looped on: no
                    # placing of the document can make this camera read it.
                    self._notice = (kind, exc.message)
                    self._device_health("document_camera", selftest.error(str(exc)))
                    return
                if self._booth().scanning_kind != kind:
                    continue  # the request changed while capturing
                item = self.uploader.spool(kind, data)
                reading = self.scan.reading
                self._dispatch(st.DocCaptured(self._now(), kind))
                self._spawn(self._send(kind, item, reading), f"booth-upload-{kind}")
        except HardwareError as exc:
            self._device_health("document_camera", selftest.error(str(exc)))
        finally:
            if self._task is asyncio.current_task():
                self._task = None
            await self._close_camera()

    async def _send(self, kind: str, item: Any, reading: Reading | None = None) -> None:
        try:
            document = await self.uploader.send(item)
        except UploadRefused as exc:
            log.warning("%s", exc)
            self._dispatch(st.DocUpdated(self._now(), kind, "", "rescan", exc.detail[:200]))
            return
        if reading is not None:  # what OCR read, for the officer's console
            await send_reading(self.uploader, document, reading.payload())
        self._dispatch(st.DocUpdated(self._now(), kind, document, "uploaded"))
