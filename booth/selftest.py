"""The booth's self-test at start and its periodic health: one word per device.

Health words: ``ok``; ``absent`` is never used for a configured device (a configured
device that is missing is a fault); anything else is ``error: <what>``. The queue takes a
booth whose health has any value other than ``ok`` out of rotation, so only configured
devices are listed.
"""

from __future__ import annotations

import asyncio
import logging

from booth import limits
from hardware.camera import FrameSource
from hardware.errors import HardwareError
from hardware.printing import AsyncPrinter

log = logging.getLogger(__name__)

OK = "ok"


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
