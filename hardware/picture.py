"""What counts as a picture in the hardware layer: a BGR ``uint8`` H x W x 3 array.

:func:`as_bgr` checks and normalises arrays from any source (cameras, renderers, callers of
the quality gate); :func:`load_image` reads a file. Both raise :class:`ImageUnreadable`
(a ``ValueError``) naming the input and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hardware.errors import ImageUnreadable


def as_bgr(image: object, what: str = "image") -> np.ndarray:
    """``image`` as a contiguous BGR ``uint8`` H x W x 3 array.

    Grey (H x W or H x W x 1) and BGRA pictures are converted; anything else raises
    :class:`ImageUnreadable` naming ``what`` and the problem.
    """
    if not isinstance(image, np.ndarray):
        raise ImageUnreadable(f"{what}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageUnreadable(f"{what}: expected 8-bit pixels (uint8), got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        if min(image.shape) < 1:
            raise ImageUnreadable(f"{what}: empty picture {image.shape}")
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ImageUnreadable(f"{what}: expected H x W x 3 (BGR) pixels, got shape {image.shape}")
    if min(image.shape[:2]) < 1:
        raise ImageUnreadable(f"{what}: empty picture {image.shape}")
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as BGR; a missing or undecodable file raises :class:`ImageUnreadable`."""
    p = Path(path)
    if not p.is_file():
        raise ImageUnreadable(f"{p}: no such file")
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as exc:
        raise ImageUnreadable(f"{p}: cannot be read ({exc.strerror or exc})") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageUnreadable(f"{p}: not an image OpenCV can decode (JPEG, PNG, BMP, ...)")
    return image
