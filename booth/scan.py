"""Document scanning at the booth: the quality gate on the document camera, then capture.

Each frame of the document camera is judged as the kind of document asked for
(:func:`hardware.quality.judge` with the kind from :mod:`bilik.documents`, in a worker
thread so the event loop stays free) and fed to :class:`~hardware.quality.AutoCapture`; the
screen shows :attr:`DocumentScan.guidance`, the one instruction for what is wrong now
("hold still", "too blurry"...). When enough frames in a row pass, the sharpest document is
straightened at the camera's own resolution, encoded as JPEG and handed back. A blurry card
is therefore caught here, in seconds, and never reaches the officer.

A document whose kind carries a NIK (KTP, membership card, family card) is read once with
OCR when captured (:class:`hardware.ocr.Reader`, in a worker thread): when its NIK cannot
be read or has no valid structure, the participant is asked to place it again, with the
reason, before the officer ever sees it (at most ``OCR_ATTEMPTS`` times; then it is sent
and the officer reads it). :attr:`DocumentScan.reading` keeps what was read.

A camera whose frames are too small for the kind's smallest print (a 720p camera and an A4
page) can never pass: the first frame tells, and :class:`CameraCannotReach` says so at
once instead of looping on "bring it closer".
"""

from __future__ import annotations

import asyncio
import logging

import cv2
import numpy as np

from bilik import documents
from bilik.catalogue import Message, text
from bilik.documents import DocumentKind
from booth import limits
from booth.errors import BoothError
from hardware.camera import FrameSource
from hardware.errors import HardwareError
from hardware.ocr import Reader, Reading
from hardware.quality import AutoCapture, judge
from hardware.quality.gate import camera_reaches, needed_px_per_mm, reachable_px_per_mm

log = logging.getLogger(__name__)


class CameraCannotReach(BoothError):
    """The document camera's frames are too small for this kind's smallest print."""

    def __init__(self, kind: DocumentKind, width: int, height: int) -> None:
        need, reach = needed_px_per_mm(kind), reachable_px_per_mm(kind, width, height)
        super().__init__(
            f"the document camera ({width}x{height}) cannot resolve the {kind.en}: its "
            f"{kind.smallest_print_mm} mm print needs {need:.1f} px/mm, the camera gives at "
            f"most {reach:.1f}"
        )
        self.kind = kind
        self.message = Message(
            "quality.camera_too_small",
            text("quality.camera_too_small").id.format(document=kind.id),
            text("quality.camera_too_small").en.format(document=kind.en),
        )


def kind_for(name: str) -> DocumentKind:
    """The kind of a requested document. One the data does not know is judged as an ID-1
    card, and logged: the officer asked for it by a name no checklist has."""
    try:
        return documents.kind(name)
    except documents.UnknownDocumentKind as exc:
        log.warning("%s: judged as %s", exc, documents.DEFAULT_KIND)
        return documents.kind(documents.DEFAULT_KIND)


class DocumentScan:
    def __init__(
        self, camera: FrameSource, *, frames_to_capture: int | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.camera = camera
        self.auto = AutoCapture() if frames_to_capture is None else AutoCapture(frames_to_capture)
        self.reader = reader  # None: no OCR at the booth
        self.guidance: Message = self.auto.guidance
        self.frames_judged = 0
        self.rejections: dict[str, int] = {}
        self.reading: Reading | None = None  # OCR of the last document captured
        self.ocr_refusals = 0

    async def _read(self, document: np.ndarray, k: DocumentKind) -> Reading | None:
        """OCR of a captured document, off the event loop; ``None`` when OCR is not set up
        or not available (logged: the booth still captures, the officer reads)."""
        if self.reader is None or "nik" not in k.fields:
            return None
        try:
            return await asyncio.to_thread(self.reader.read, document, k)
        except HardwareError as exc:
            log.warning("OCR skipped: %s", exc)
            self.reader = None
            return None

    async def capture(self, kind: str = documents.DEFAULT_KIND) -> bytes:
        """Judge frames as documents of ``kind`` until one is captured; returns it as JPEG
        bytes. Raises :class:`CameraCannotReach` on the first frame if the camera is too
        coarse for the kind."""
        k = kind_for(kind)
        self.auto.reset()
        self.guidance = self.auto.guidance
        self.reading = None
        period = 1.0 / limits.SCAN_FPS
        loop = asyncio.get_running_loop()
        checked = False
        attempts = 0
        notice: tuple[Message, float] | None = None  # why it is asked again, and until when
        while True:
            started = loop.time()
            frame = await self.camera.read_async()
            if not checked:
                h, w = frame.image.shape[:2]
                if not camera_reaches(k, w, h):
                    error = CameraCannotReach(k, w, h)
                    self.guidance = error.message
                    raise error
                checked = True
            verdict = await asyncio.to_thread(judge, frame.image, k)
            self.frames_judged += 1
            for reason in verdict.reasons:
                self.rejections[reason.value] = self.rejections.get(reason.value, 0) + 1
            captured = self.auto.feed(verdict)
            self.guidance = self.auto.guidance
            if notice is not None and loop.time() < notice[1] and captured is None:
                self.guidance = notice[0]  # the reason stays up while the card is placed again
            if captured is not None:
                reading = await self._read(captured.document, k)
                self.reading = reading
                nik_problems = [] if reading is None else [
                    p for p in reading.problems if p.startswith("nik_")]
                if nik_problems and attempts < limits.OCR_ATTEMPTS:
                    attempts += 1
                    self.ocr_refusals += 1
                    key = nik_problems[0].split(":", 1)[0]  # nik_unreadable / nik_invalid
                    log.info("%s captured, asked again: %s", k.name, nik_problems[0])
                    notice = (text(f"quality.{key}"), loop.time() + limits.OCR_NOTICE_S)
                    self.guidance = notice[0]
                    self.auto.reset()
                    await asyncio.sleep(period)
                    continue
                ok, data = cv2.imencode(".jpg", captured.document,
                                        [cv2.IMWRITE_JPEG_QUALITY, limits.DOC_JPEG_QUALITY])
                if not ok:
                    raise BoothError("the captured document could not be encoded as JPEG")
                return bytes(data)
            await asyncio.sleep(max(0.0, period - (loop.time() - started)))
