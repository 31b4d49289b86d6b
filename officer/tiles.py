"""Tile snapshots for the console: small JPEGs of each booth's newest decoded picture.

The hub decodes every booth anyway; the browser gets a 320x240 JPEG per tile at a modest
rate (``TILE_FPS``), made in one named thread, one swscale call (convert and scale
together) and one JPEG encode per tile, only for tiles a browser fetched recently and
only when a new picture was decoded. Nothing here runs on the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2

from officer import limits

log = logging.getLogger(__name__)


class TileService:
    def __init__(
        self,
        frames: Callable[[], dict[str, Any]],
        *,
        fps: float = limits.TILE_FPS,
        width: int = limits.TILE_WIDTH,
        height: int = limits.TILE_HEIGHT,
        quality: int = limits.TILE_JPEG_QUALITY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.frames = frames
        self.period_s = 1 / fps
        self.width = width
        self.height = height
        self.quality = quality
        self.monotonic = monotonic
        self._wanted: dict[str, float] = {}
        self._jpegs: dict[str, bytes] = {}
        self._sources: dict[str, Any] = {}  # the frame each JPEG was made from
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.encoded = 0
        self.encode_s = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="hub-tiles", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(limits.THREAD_JOIN_TIMEOUT_S)

    def get(self, booth: str) -> bytes | None:
        """The newest JPEG of ``booth`` (None until one is made); marks the tile as shown."""
        self._wanted[booth] = self.monotonic()
        return self._jpegs.get(booth)

    def forget(self, booth: str) -> None:
        self._wanted.pop(booth, None)
        self._jpegs.pop(booth, None)
        self._sources.pop(booth, None)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.refresh()
            except Exception:
                log.exception("tile snapshots failed")

    def refresh(self) -> None:
        """Make a JPEG of every wanted tile that has a new picture (also callable directly)."""
        now = self.monotonic()
        wanted = {b for b, at in list(self._wanted.items()) if now - at <= limits.TILE_WANTED_S}
        if not wanted:
            return
        for booth, frame in self.frames().items():
            if booth not in wanted or frame is None or self._sources.get(booth) is frame:
                continue
            started = time.perf_counter()
            small = frame.reformat(width=self.width, height=self.height, format="bgr24")
            ok, jpeg = cv2.imencode(
                ".jpg", small.to_ndarray(), [cv2.IMWRITE_JPEG_QUALITY, self.quality]
            )
            if ok:
                self._jpegs[booth] = jpeg.tobytes()
                self._sources[booth] = frame
                self.encoded += 1
            self.encode_s += time.perf_counter() - started
