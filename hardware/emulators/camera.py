"""An emulated camera that replays still images (files, a directory, or arrays) at a fps.

It is an :class:`~hardware.camera.ImageReplaySource`, so the booth, the quality gate and
:class:`~hardware.camera.SourceTrack` use it exactly like a real :class:`OpenCVCamera`.

    camera = start_camera_emulator(["tests/data/quality"], fps=15)
    frame = camera.read(timeout=1.0)
    camera.stop()
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hardware.camera import Clock, ImageReplaySource
from hardware.errors import ImageUnreadable

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def expand_images(items: Sequence[str | Path | np.ndarray]) -> list[str | Path | np.ndarray]:
    """Replace each directory by its image files, in name order; keep files and arrays."""
    out: list[str | Path | np.ndarray] = []
    for item in items:
        if isinstance(item, str | Path) and Path(item).is_dir():
            found = sorted(p for p in Path(item).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                kinds = ", ".join(sorted(IMAGE_SUFFIXES))
                raise ImageUnreadable(f"{item}: directory holds no images ({kinds})")
            out.extend(found)
        else:
            out.append(item)
    return out


def start_camera_emulator(
    images: Sequence[str | Path | np.ndarray] | str | Path,
    fps: float = 15.0,
    *,
    loop: bool = True,
    name: str = "camera-emulator",
    clock: Clock = time.monotonic,
) -> ImageReplaySource:
    """Start and return a replaying camera; call ``stop()`` (or use ``with``) to end it."""
    if isinstance(images, str | Path):
        images = [images]
    source = ImageReplaySource(expand_images(images), fps, loop=loop, name=name, clock=clock)
    source.start()
    return source
