"""Tesseract (Debian's ``tesseract-ocr`` with the Indonesian data) reading a straightened
document, through ``tesserocr``: the engine stays loaded in this process (no process per
document, no temporary files), and it releases the GIL, so the booth runs it in a worker
thread off the event loop.

    reader = Reader()                         # loads nothing until the first document
    reading = reader.read(document_bgr, kind("ktp"))
    reading.value("nik"), reading.problems

One engine, used by one thread at a time (Tesseract's API is not re-entrant).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bilik.documents import DocumentKind, Orientation
from hardware.errors import HardwareError
from hardware.ocr import limits
from hardware.ocr.reading import Reading, parse_lines
from hardware.picture import as_bgr


class OcrUnavailable(HardwareError):
    """Tesseract or its Indonesian data is not installed."""


def tessdata_dir() -> str:
    """Where Debian's Tesseract data is (``TESSDATA_PREFIX`` first); :class:`OcrUnavailable`
    naming the packages when the Indonesian data is not there."""
    candidates = [os.environ.get("TESSDATA_PREFIX", ""), *limits.TESSDATA_DIRS]
    for d in candidates:
        if d and (Path(d) / f"{limits.LANGUAGE}.traineddata").is_file():
            return d.rstrip("/") + "/"
    raise OcrUnavailable(
        f"no {limits.LANGUAGE}.traineddata in {', '.join(limits.TESSDATA_DIRS)}: install the "
        "Debian packages tesseract-ocr and tesseract-ocr-ind (scripts/setup.sh does)"
    )


class Reader:
    def __init__(self, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        self._today = today
        self._api: Any = None
        self._lock = threading.Lock()

    def _engine(self) -> Any:
        if self._api is None:
            try:
                import tesserocr
            except ImportError as exc:  # pragma: no cover - a dependency of the project
                raise OcrUnavailable(f"tesserocr is not installed ({exc})") from exc
            self._api = tesserocr.PyTessBaseAPI(
                path=tessdata_dir(), lang=limits.LANGUAGE, psm=tesserocr.PSM.SINGLE_BLOCK
            )
        return self._api

    def close(self) -> None:
        with self._lock:
            if self._api is not None:
                self._api.End()
                self._api = None

    def _lines(self, gray: np.ndarray) -> list[tuple[str, float]]:
        import tesserocr
        from PIL import Image

        api = self._engine()
        api.SetImage(Image.fromarray(gray))
        api.Recognize()
        lines: list[tuple[str, float]] = []
        it = api.GetIterator()
        level = tesserocr.RIL.TEXTLINE
        if it is not None:
            for line in tesserocr.iterate_level(it, level):
                text = line.GetUTF8Text(level) or ""
                conf = float(line.Confidence(level))
                if text.strip() and conf >= limits.MIN_LINE_CONFIDENCE:
                    lines.append((text.strip(), conf))
        return lines

    def read(self, document_bgr: np.ndarray, kind: DocumentKind) -> Reading:
        """Read a document straightened long side across (as the quality gate captures it).
        A document read upright in portrait is tried turned both ways, one in landscape
        upright and then upside down; the reading with fewer problems wins."""
        image = as_bgr(document_bgr, "document")
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        px_per_mm = gray.shape[1] / kind.long_mm
        scale = limits.PRINT_PX / (kind.smallest_print_mm * px_per_mm)
        scale = min(scale, (limits.MAX_OCR_PIXELS / gray.size) ** 0.5)
        if abs(scale - 1) > 0.05:
            interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interpolation)
        turns: list[int | None] = (
            [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE]
            if kind.orientation is Orientation.PORTRAIT
            else [None, cv2.ROTATE_180]
        )
        best: Reading | None = None
        with self._lock:
            for turn in turns:
                upright = gray if turn is None else cv2.rotate(gray, turn)
                reading = parse_lines(kind, self._lines(upright), today=self._today())
                if best is None or len(reading.problems) < len(best.problems):
                    best = reading
                if best.ok:
                    break
        assert best is not None
        return best
