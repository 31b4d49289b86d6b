"""The booth's devices as its config names them: the booth screen and the document camera."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from booth import limits
from booth.config import BoothConfig
from booth.screen import BoothScreen, ScreenMode
from hardware.camera import FrameSource, ImageReplaySource, OpenCVCamera
from hardware.emulators.camera import expand_images
from hardware.errors import HardwareError

log = logging.getLogger(__name__)


def make_screen(config: BoothConfig) -> BoothScreen:
    setting = config.screen
    if setting in (ScreenMode.OFF.value, ScreenMode.WINDOW.value):
        return BoothScreen(setting, theme=config.theme, text_size=config.text_size)
    return BoothScreen(ScreenMode.PNG_DIR, Path(setting), theme=config.theme,
                       text_size=config.text_size)


def document_camera(config: BoothConfig) -> Callable[[], FrameSource] | None:
    spec = config.document_camera
    if spec == "none":
        return None
    if Path(spec).is_dir():  # the emulator: still images replayed
        return lambda: ImageReplaySource(expand_images([spec]), limits.SCAN_FPS,
                                         name="document-camera")
    device: int | str = int(spec) if spec.isdigit() else spec
    width, height = (int(v) for v in config.document_camera_size.split("x"))
    return lambda: OpenCVCamera(device, width, height, limits.SCAN_FPS)


def safe_source(factory: Callable[[], FrameSource] | None) -> FrameSource | None:
    """A camera for the self-test, or None (logged) when it cannot even be created."""
    if factory is None:
        return None
    try:
        return factory()
    except (HardwareError, ValueError) as exc:
        log.error("cannot create a camera: %s", exc)
        return None
