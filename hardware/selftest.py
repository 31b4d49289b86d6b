"""Device self-tests for technicians: a display pattern, a scanner read, a printer test
page, a camera frame with its focus score. Each returns a JSON-able result and raises a
:class:`~hardware.errors.HardwareError` subclass naming what failed.

``progress(step, total, message)`` is called before each step of a long test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bilik.catalogue import text
from hardware import limits
from hardware.config import HardwareConfig
from hardware.displays.led import LedDisplay, LedEncoder, LedFraming
from hardware.displays.pole import PoleCommandSet, PoleDisplay, PoleEncoder
from hardware.errors import HardwareError
from hardware.scanner import Suffix, read_one
from hardware.serialport import open_port

Progress = Callable[[int, int, str], None]
KINDS = ("pole-cd5220", "pole-epson", "led", "scanner", "printer", "camera", "button")


def _hold(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)  # the technician looks at the display meanwhile


def pole(
    device: str,
    command_set: PoleCommandSet,
    cfg: HardwareConfig,
    progress: Progress,
    *,
    hold: float = limits.SELFTEST_PATTERN_HOLD_S,
    baudrate: int = limits.SERIAL_DEFAULT_BAUD,
) -> dict[str, Any]:
    encoder = PoleEncoder(command_set, codepage=cfg.display_codepage)
    patterns = encoder.test_patterns()
    total = len(patterns) + 2
    port = open_port(device, baudrate=baudrate)
    try:
        display = PoleDisplay(port, encoder, device)
        progress(1, total, "reset and clear")
        display.reset()
        for n, (top, bottom) in enumerate(patterns, start=2):
            progress(n, total, f"pattern {n - 1} of {len(patterns)}")
            display.show_lines(top, bottom)
            _hold(hold)
        message = text("hardware.display_test")
        progress(total, total, "bilingual test message")
        display.show_lines(message.id, message.en)
    finally:
        port.close()
    return {"patterns": len(patterns), "shown": [message.id, message.en]}


def led(
    device: str,
    cfg: HardwareConfig,
    progress: Progress,
    *,
    hold: float = limits.SELFTEST_PATTERN_HOLD_S,
    baudrate: int = limits.SERIAL_DEFAULT_BAUD,
) -> dict[str, Any]:
    encoder = LedEncoder(
        LedFraming.from_config(cfg), cfg.led_address, codepage=cfg.display_codepage
    )
    patterns = encoder.test_patterns()
    port = open_port(device, baudrate=baudrate)
    try:
        display = LedDisplay(port, encoder, device)
        for n, pattern in enumerate(patterns, start=1):
            progress(n, len(patterns), f"pattern {pattern!r} to address {cfg.led_address}")
            display.show_text(pattern)
            _hold(hold)
    finally:
        port.close()
    return {"patterns": len(patterns), "address": cfg.led_address, "shown": patterns[-1]}


def scanner(
    device: str,
    cfg: HardwareConfig,
    progress: Progress,
    *,
    timeout: float = limits.SELFTEST_SCAN_TIMEOUT_S,
    baudrate: int = limits.SERIAL_DEFAULT_BAUD,
) -> dict[str, Any]:
    progress(1, 1, f"scan any code now (waiting up to {timeout:g} s)")
    code = asyncio.run(
        read_one(device, timeout, baudrate=baudrate, suffix=Suffix(cfg.scanner_suffix))
    )
    return {"code": code, "length": len(code)}


def button(
    device: str,
    progress: Progress,
    *,
    timeout: float = limits.SELFTEST_SCAN_TIMEOUT_S,
    baudrate: int = limits.SERIAL_DEFAULT_BAUD,
) -> dict[str, Any]:
    """The hand button: it identifies itself, its lamp blinks, a press is read."""
    from hardware.button import self_test

    return asyncio.run(self_test(device, progress, timeout=timeout, baudrate=baudrate))


def _printer_address(device: str, baudrate: int) -> str:
    if "://" in device or device.split(":", 1)[0] in ("serial", "tcp", "file"):
        return device
    return f"serial:{device}?baudrate={baudrate}"


def printer(
    device: str, progress: Progress, *, baudrate: int = limits.SERIAL_DEFAULT_BAUD
) -> dict[str, Any]:
    from hardware.printing.printer import Printer  # the printing helper's module

    address = _printer_address(device, baudrate)
    progress(1, 3, f"open {address}")
    with Printer.open(address) as p:
        progress(2, 3, "status (DLE EOT)")
        status = p.status()
        progress(3, 3, "print the self-test page")
        job = p.selftest_page()
    result = {
        "address": address,
        "status": status.describe(),
        "job": job.job_id,
        "outcome": job.outcome.value,
    }
    if job.outcome.value != "printed":
        raise HardwareError(f"self-test page not printed: {job.detail or job.outcome.value}")
    return result


def camera(device: str, progress: Progress, *, timeout: float = 10.0) -> dict[str, Any]:
    import cv2

    from hardware.camera import OpenCVCamera  # the vision helper's modules
    from hardware.quality.checks import sharpness

    target: int | str = int(device) if device.isdigit() else device
    progress(1, 2, f"open camera {device}")
    source = OpenCVCamera(target)
    source.start()
    try:
        progress(2, 2, "grab a frame and score its focus")
        frame = source.read(timeout=timeout)
    finally:
        source.stop()
    from bilik.documents import kinds
    from hardware.quality.gate import camera_reaches

    gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
    height, width = gray.shape
    # As a document camera: the kinds whose smallest print this frame size can resolve.
    readable = [k for k in kinds() if camera_reaches(k, width, height)]
    return {"width": width, "height": height, "focus": round(sharpness(gray), 4),
            "documents": readable}
