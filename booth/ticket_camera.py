"""The ticket's QR read by the document camera while the booth waits for a participant.

The issue says the participant shows the ticket's QR "to the booth's reader or camera".
The face camera stays off while the booth is idle (privacy), so the camera that reads
tickets is the document camera, which points at the desk. While the welcome screen is up
it is opened, and :data:`~booth.limits.TICKET_CAMERA_CHECK_S` apart the newest frame is
decoded with pyzbar (``hardware.qr``) in a worker thread; each code found goes to the same
claim path as the serial reader (``BoothAgent.scan_code``), so a wrong booth, an expired or
an unknown ticket get the same messages. When the booth leaves the welcome screen the
camera is closed again, before anything else (the document scan) may open it.

A code held in front of the camera is seen in every frame: :class:`CodeSightings` (pure)
passes it on once when it appears, and again only after it has been out of sight for
:data:`~booth.limits.TICKET_CODE_GONE_S`, so a refused ticket held still is not claimed
over and over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from booth import limits
from hardware.camera import FrameSource, start_source
from hardware.errors import HardwareError
from hardware.qr import decode

log = logging.getLogger(__name__)


class CodeSightings:
    """Which codes are new in view: ``seen(codes, now)`` returns those to claim."""

    def __init__(self, gone_after_s: float = limits.TICKET_CODE_GONE_S) -> None:
        self.gone_after_s = gone_after_s
        self._last_seen: dict[str, float] = {}

    def seen(self, codes: set[str], now: float) -> list[str]:
        new = sorted(c for c in codes
                     if now - self._last_seen.get(c, float("-inf")) > self.gone_after_s)
        for code in codes:
            self._last_seen[code] = now
        # Forget codes long out of view, so the memory stays as small as what is in view.
        self._last_seen = {c: t for c, t in self._last_seen.items()
                           if now - t <= self.gone_after_s}
        return new


class TicketCamera:
    """Opens the document camera while ``wanted()``, and hands new QR codes to ``on_code``."""

    def __init__(
        self,
        factory: Callable[[], FrameSource],
        *,
        wanted: Callable[[], bool],
        on_code: Callable[[str], None],
        on_error: Callable[[str], None],
        lock: asyncio.Lock,
        monotonic: Callable[[], float],
        check_s: float = limits.TICKET_CAMERA_CHECK_S,
    ) -> None:
        self.factory = factory
        self.wanted = wanted
        self.on_code = on_code
        self.on_error = on_error
        self.lock = lock  # held while the camera is open: the document scan waits for it
        self.monotonic = monotonic
        self.check_s = check_s
        self.sightings = CodeSightings()
        self.frames_decoded = 0
        self.camera: FrameSource | None = None

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.check_s)
                if not self.wanted():
                    await self._close()
                    continue
                if self.camera is None and not await self._open():
                    continue  # reported as a device fault: the booth is out of service
                await self._look()
        finally:
            with contextlib.suppress(HardwareError):
                await self._close()

    async def _open(self) -> bool:
        await self.lock.acquire()
        try:
            camera = self.factory()
            await start_source(camera)
        except (HardwareError, ValueError, RuntimeError) as exc:
            self.lock.release()
            self.on_error(f"document camera (ticket QR): {exc}")
            return False
        except asyncio.CancelledError:  # stopping while it opened: the camera is stopped
            self.lock.release()
            raise
        self.camera = camera
        log.info("reading ticket QR codes with the document camera")
        return True

    async def _close(self) -> None:
        camera, self.camera = self.camera, None
        if camera is None:
            return
        try:
            await asyncio.to_thread(camera.stop)
        finally:
            self.lock.release()

    async def _look(self) -> None:
        camera = self.camera
        if camera is None:
            return
        try:
            frame = await asyncio.wait_for(camera.read_async(), limits.SELFTEST_TIMEOUT_S)
        except (HardwareError, TimeoutError) as exc:
            await self._close()
            self.on_error(f"document camera (ticket QR): {exc or 'no frame'}")
            return
        try:
            # zbar takes tens of milliseconds on a 720p frame: off the event loop.
            found = await asyncio.to_thread(decode, frame.image, symbols=["QRCODE"])
        except ValueError as exc:  # not a picture: a broken driver, not a ticket
            log.warning("document camera frame not decodable: %s", exc)
            return
        self.frames_decoded += 1
        for code in self.sightings.seen({f.data for f in found}, self.monotonic()):
            if self.wanted():
                log.info("ticket code read by the document camera")
                self.on_code(code)
