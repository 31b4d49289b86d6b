"""Tile snapshots for the console: small JPEGs of each booth's newest decoded picture.

The hub decodes every booth anyway; the browser gets a 320x240 JPEG per tile at a modest
rate (``TILE_FPS``), made in one named thread, one swscale call (convert and scale
together) and one JPEG encode per tile, only while someone watches (a console's tile
socket, or a snapshot fetched within ``TILE_WANTED_S``) and only when a new picture was
decoded. Each snapshot carries a sequence number, so a reader sends only what changed.
Nothing here runs on the event loop: listeners are called from the tile thread after a
refresh that made something new.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import cv2

from officer import limits

log = logging.getLogger(__name__)


class Tile(NamedTuple):
    seq: int  # grows with every snapshot made, over all booths
    jpeg: bytes


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
        self._watchers = 0  # consoles watching every tile
        self._tiles: dict[str, Tile] = {}
        self._sources: dict[str, Any] = {}  # the frame each JPEG was made from
        self._seq = itertools.count(1)
        self._listeners: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.encoded = 0
        self.encode_s = 0.0
        self.rounds = 0  # refresh rounds of the tile thread so far

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
        tile = self._tiles.get(booth)
        return None if tile is None else tile.jpeg

    def watch(self, listener: Callable[[], None]) -> None:
        """Keep every tile fresh and call ``listener`` (from the tile thread) on news."""
        self._watchers += 1
        self._listeners.append(listener)

    @property
    def watchers(self) -> int:
        """Consoles watching every tile now."""
        return self._watchers

    def unwatch(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
            self._watchers -= 1

    def newer(self, seen: dict[str, int]) -> dict[str, Tile]:
        """The tiles whose snapshot is newer than ``seen`` (booth -> seq already sent)."""
        return {booth: tile for booth, tile in list(self._tiles.items())
                if tile.seq > seen.get(booth, 0)}

    def forget(self, booth: str) -> None:
        self._wanted.pop(booth, None)
        self._tiles.pop(booth, None)
        self._sources.pop(booth, None)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.rounds += 1
            try:
                if self.refresh():
                    for listener in list(self._listeners):
                        listener()
            except Exception:
                log.exception("tile snapshots failed")

    def refresh(self) -> int:
        """Make a JPEG of every wanted tile that has a new picture (also callable directly).

        Returns how many were made.
        """
        now = self.monotonic()
        watched = self._watchers > 0
        wanted = {b for b, at in list(self._wanted.items()) if now - at <= limits.TILE_WANTED_S}
        if not (watched or wanted):
            return 0
        made = 0
        for booth, frame in self.frames().items():
            if not (watched or booth in wanted) or frame is None:
                continue
            if self._sources.get(booth) is frame:  # no new picture since the last snapshot
                continue
            started = time.perf_counter()
            small = frame.reformat(width=self.width, height=self.height, format="bgr24")
            ok, jpeg = cv2.imencode(
                ".jpg", small.to_ndarray(), [cv2.IMWRITE_JPEG_QUALITY, self.quality]
            )
            if ok:
                self._tiles[booth] = Tile(next(self._seq), jpeg.tobytes())
                self._sources[booth] = frame
                self.encoded += 1
                made += 1
            self.encode_s += time.perf_counter() - started
        return made


def pack_batch(tiles: dict[str, Tile]) -> bytes:
    """Tiles as one binary WebSocket message for the console (see ``console.js``).

    Four bytes (big-endian) giving the length of a UTF-8 JSON header
    ``{"tiles": [{"booth": ..., "seq": ..., "size": ...}, ...]}``, the header, then the
    JPEGs one after another in the header's order.
    """
    header = json.dumps({"tiles": [{"booth": booth, "seq": tile.seq, "size": len(tile.jpeg)}
                                   for booth, tile in tiles.items()]}).encode()
    return b"".join([len(header).to_bytes(4, "big"), header,
                     *(tile.jpeg for tile in tiles.values())])
