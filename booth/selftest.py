"""The booth's self-test at start and its periodic health: one word per device.

Health words (:class:`bilik.devicehealth.DeviceHealth`): ``ok``; ``absent`` is never used for
a configured device (a configured device that is missing is a fault); anything else is
``error: <what>``. The queue takes a booth whose health has any value other than ``ok`` out of
rotation, so only configured devices are listed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bilik.devicehealth import DeviceHealth
from booth import limits
from booth.config import BoothConfig
from booth.devices import safe_source
from hardware.camera import FrameSource
from hardware.errors import HardwareError
from hardware.printing import AsyncPrinter
from hardware.scanner import SerialScanner

log = logging.getLogger(__name__)

OK = DeviceHealth.OK  # anything else: "error: <what>"


def error(detail: str) -> str:
    return f"error: {detail}"[:200]


async def check_camera(source: FrameSource | None, *, started_here: bool) -> str:
    """A frame within the timeout. A camera that is off (idle booth) is opened and closed."""
    if source is None:
        return error("not configured")
    try:
        if started_here:
            await asyncio.to_thread(source.start)
        try:
            await asyncio.wait_for(source.read_async(), limits.SELFTEST_TIMEOUT_S)
        finally:
            if started_here:
                await asyncio.to_thread(source.stop)
    except (HardwareError, TimeoutError, RuntimeError, ValueError) as exc:
        return error(str(exc) or type(exc).__name__)
    return OK


async def check_printer(printer: AsyncPrinter | None) -> str:
    if printer is None:
        return error("not configured")
    try:
        status = await asyncio.wait_for(printer.status(), limits.SELFTEST_TIMEOUT_S)
    except (HardwareError, TimeoutError) as exc:
        return error(str(exc) or type(exc).__name__)
    return OK if status.ok else error(status.describe())


@dataclass
class Found:
    """What the self-test found: a health word per configured device, and the devices it
    opened for the booth (the printer, unless one was handed in, and the ticket reader)."""

    health: dict[str, str] = field(default_factory=dict)
    printer: AsyncPrinter | None = None
    owns_printer: bool = False
    scanner: SerialScanner | None = None


async def run(
    config: BoothConfig,
    *,
    camera: Callable[[], FrameSource] | None,
    document_camera: Callable[[], FrameSource] | None,
    printer: AsyncPrinter | None,
) -> Found:
    """Check the booth camera (None: a replayed booth has none), the printer, the ticket
    reader and the document camera, each as configured."""
    found = Found(printer=printer)
    if camera is not None:
        found.health["camera"] = await check_camera(safe_source(camera), started_here=True)
    if config.printer and found.printer is None:
        try:
            found.printer = await AsyncPrinter.open(
                config.printer, status_timeout=limits.PRINTER_STATUS_TIMEOUT_S)
            found.owns_printer = True
        except (HardwareError, ValueError) as exc:
            found.health["printer"] = error(str(exc))
    if found.printer is not None:
        found.health["printer"] = await check_printer(found.printer)
    if config.reader:
        try:
            found.scanner = await SerialScanner(config.reader).open()
            found.health["reader"] = OK
        except HardwareError as exc:
            found.health["reader"] = error(str(exc))
    if config.document_camera != "none" or document_camera is not None:
        found.health["document_camera"] = await check_camera(
            safe_source(document_camera), started_here=True)
    return found
