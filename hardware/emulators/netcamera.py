"""A network camera emulator: an MJPEG stream over HTTP, like an IP camera.

``bilik hw emulate camera`` serves the replayed images (or the moving test pattern) at
``http://127.0.0.1:PORT/video.mjpg``; any process opens it as a camera with OpenCV
(``OpenCVCamera("http://127.0.0.1:PORT/video.mjpg")``, ``bilik booth --camera URL``),
so the production capture code runs unchanged against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from aiohttp import web

from hardware.emulators.camera import expand_images
from hardware.picture import load_image
from hardware.testpattern import TestPattern

log = logging.getLogger(__name__)

BOUNDARY = "bilikframe"
JPEG_QUALITY = 85


class FrameSource:
    """What the stream shows: images in turn, or the test pattern with its timecode."""

    def __init__(self, images: Sequence[str | Path], *, width: int, height: int) -> None:
        paths = expand_images(list(images)) if images else []
        self.images = [load_image(p) for p in paths]  # type: ignore[arg-type]
        self.pattern = None if self.images else TestPattern(width, height)
        self.index = 0

    def next_jpeg(self) -> bytes:
        if self.pattern is not None:
            frame: np.ndarray = self.pattern.render_bgr(time.time())
        else:
            frame = self.images[self.index % len(self.images)]
            self.index += 1
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:  # pragma: no cover - OpenCV encodes any BGR picture
            raise RuntimeError("JPEG encoding failed")
        return data.tobytes()


def make_app(source: FrameSource, fps: float) -> web.Application:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            "Cache-Control": "no-cache",
        })
        await response.prepare(request)
        period = 1.0 / fps
        next_at = time.monotonic()
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                jpeg = await asyncio.to_thread(source.next_jpeg)
                await response.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n"
                )
                next_at += period
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        return response

    app = web.Application()
    app.router.add_get("/video.mjpg", stream)
    return app


class NetCameraEmulator:
    """Runs the stream on its own thread and event loop; ``url`` is what a camera opens."""

    def __init__(self, images: Sequence[str | Path] = (), *, fps: float = 15.0,
                 width: int = 640, height: int = 480, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.source = FrameSource(images, width=width, height=height)
        self.fps = fps
        self.host = host
        self.port = port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="emulator:netcamera", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/video.mjpg"

    def start(self) -> NetCameraEmulator:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(make_app(self.source, self.fps), access_log=None,
                               shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            self.port = int(runner.addresses[0][1])
        except OSError as exc:
            self._error = exc
            self._ready.set()
            await runner.cleanup()
            return
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> NetCameraEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
