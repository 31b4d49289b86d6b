"""Measurements on the straightened document (pure functions of a grey ``uint8`` image).

Each returns plain numbers; :mod:`hardware.quality.gate` compares them with
:mod:`hardware.quality.limits`. They are written to be independent of the card's colours:
exposure looks at the ends of the histogram, sharpness at edge steepness relative to
contrast, glare at clipped regions that have lost all texture.
"""

from __future__ import annotations

import cv2
import numpy as np

from hardware.quality import limits


def inset(image: np.ndarray, share: float = limits.WARP_INSET) -> np.ndarray:
    """``image`` without a ``share`` border on each side."""
    h, w = image.shape[:2]
    dy, dx = round(h * share), round(w * share)
    return image[dy : h - dy, dx : w - dx]


def percentiles_u8(image: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """Percentiles of a ``uint8`` image from its histogram: linear time, no sort (the
    gate runs on every frame)."""
    hist = cv2.calcHist([image], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(hist) / max(float(hist.sum()), 1.0)
    return tuple(float(np.searchsorted(cumulative, q / 100.0)) for q in qs)


def exposure(gray: np.ndarray) -> dict[str, float]:
    """5th, 50th and 95th percentile of grey, and the share clipped to white."""
    p5, p50, p95 = percentiles_u8(gray, (5, 50, 95))
    saturated = float(np.count_nonzero(gray >= limits.SATURATED_LEVEL)) / gray.size
    return {"p5": p5, "p50": p50, "p95": p95, "saturated": saturated}


def sharpness(gray: np.ndarray) -> float:
    """Steepness of the steepest edges as a share of the document's contrast per pixel,
    in the blurrier of the two directions.

    A blur of sigma s spreads a step over about 2.5 s pixels, so its steepest slope falls
    to about 0.4 / s of the step's height; dividing by contrast makes the measure the same
    for a dark and a bright picture of the same card. Shake blurs along one direction and
    leaves edges running that way sharp, so each direction is measured on its own.
    """
    steep = []
    for dx, dy in ((1, 0), (0, 1)):
        g = cv2.Sobel(gray, cv2.CV_16S, dx, dy, ksize=3)
        # A Sobel 3x3 answers 4 to a unit step: alpha 0.25 gives grey levels per pixel.
        slope = cv2.convertScaleAbs(g, alpha=0.25)
        steep.append(percentiles_u8(slope, (99.5,))[0])
    lo, hi = percentiles_u8(gray, (1, 99))
    contrast = max(hi - lo, 8.0)  # a blank page must not divide by ~0
    return min(steep) / contrast


def glare_share(gray: np.ndarray) -> float:
    """Share of the document under blobs that are clipped to white and have no texture.

    A pixel is glare when every pixel in the ``GLARE_FLAT_PX`` square around it is clipped:
    any print under the light would leave darker pixels in the window. The opening (erode
    then dilate) keeps exactly the union of such squares.
    """
    saturated = (gray >= limits.SATURATED_LEVEL).astype(np.uint8)
    min_area = limits.GLARE_MIN_BLOB_SHARE * gray.size
    if np.count_nonzero(saturated) < min_area:
        return 0.0
    kernel = np.ones((limits.GLARE_FLAT_PX, limits.GLARE_FLAT_PX), np.uint8)
    mask = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, kernel)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:count, cv2.CC_STAT_AREA]
    return float(areas[areas >= min_area].sum()) / gray.size


def pixels_per_inch(corners: np.ndarray, doc_width_mm: float) -> float:
    """Resolution of the document in the frame, from its long sides and physical width."""
    top = float(np.linalg.norm(corners[1] - corners[0]))
    bottom = float(np.linalg.norm(corners[2] - corners[3]))
    return (top + bottom) / 2 / (doc_width_mm / 25.4)


def margin_share(corners: np.ndarray, width: int, height: int) -> float:
    """Closest distance from a corner to the frame edge, as a share of the frame's short side."""
    xs, ys = corners[:, 0], corners[:, 1]
    nearest = min(
        float(xs.min()), float(ys.min()), width - 1 - float(xs.max()), height - 1 - float(ys.max())
    )
    return nearest / min(width, height)
