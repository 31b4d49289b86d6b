"""Measurements on the straightened document (pure functions of its pixels).

Each returns plain numbers; :mod:`hardware.quality.gate` compares them with
:mod:`hardware.quality.limits`. They are written to be independent of the document's
colours: exposure looks at the ends of the histogram, sharpness at edge steepness relative
to contrast, glare at clipped regions that have lost all texture *and* sit on the print,
cover at the colour of what lies over the document's edge. Sizes are in pixels of the
judged image, whose scale (``px_per_print``: pixels per smallest print height) the caller
passes.
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
    """1st (the print), 5th, 50th and 95th percentile of grey, and the share clipped."""
    p1, p5, p50, p95 = percentiles_u8(gray, (1, 5, 50, 95))
    saturated = float(np.count_nonzero(gray >= limits.SATURATED_LEVEL)) / gray.size
    return {"p1": p1, "p5": p5, "p50": p50, "p95": p95, "saturated": saturated}


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


def local_contrast(gray: np.ndarray, px_per_print: float) -> np.ndarray:
    """How much darker each pixel is than the brightest within one print height."""
    k = max(3, round(px_per_print) | 1)
    return cv2.subtract(cv2.dilate(gray, np.ones((k, k), np.uint8)), gray)


def print_mask(gray: np.ndarray, px_per_print: float) -> np.ndarray:
    """Pixels of print: darker by ``PRINT_CONTRAST`` than the brightest pixel within one
    print height (local, so print under a highlight's halo still counts while it shows),
    and darker than the document's typical white (its median) by ``PRINT_BELOW_PAPER``, so
    that the glow falling off around a highlight is not taken for print."""
    paper = percentiles_u8(gray, (50,))[0]
    return (local_contrast(gray, px_per_print) > limits.PRINT_CONTRAST) & (
        gray < paper - limits.PRINT_BELOW_PAPER
    )


def print_contrast(gray: np.ndarray, px_per_print: float) -> float:
    """The contrast of the document's strongest print (99.5th percentile of the local
    contrast): near 0 when the print has washed out with the paper."""
    return percentiles_u8(local_contrast(gray, px_per_print), (99.5,))[0]


def glare_share(gray: np.ndarray, px_per_print: float) -> float:
    """Share of the document under highlights that sit on its print.

    A highlight is a region clipped to white with no texture left (every pixel of a window
    ``GLARE_FLAT_MM`` wide clipped: print under the light would leave darker pixels),
    brighter than the document's own white (its median is not clipped), and at least
    ``GLARE_MIN_RADIUS_PRINT`` print heights across at its widest: narrower white (white
    print, QR modules, a QR code's quiet zone) is never one. It sits on the print when the
    ring ``GLARE_RING_PRINT`` print heights wide around it holds print at least
    ``GLARE_RING_DENSITY`` times as dense as the document's average: a sleeve's highlight on
    a margin or a blank field hides nothing and passes. On a document whose white itself is
    clipped (a white page, over-exposed) a highlight cannot be told from the paper; the
    exposure check speaks for it (see docs/quality.md).
    """
    if percentiles_u8(gray, (50,))[0] >= limits.SATURATED_LEVEL:
        return 0.0
    saturated = (gray >= limits.SATURATED_LEVEL).astype(np.uint8)
    min_radius = limits.GLARE_MIN_RADIUS_PRINT * px_per_print / 2
    if np.count_nonzero(saturated) < np.pi * min_radius**2:
        return 0.0
    flat = max(3, round(limits.GLARE_FLAT_MM * px_per_print / 1.5) | 1)
    mask = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((flat, flat), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return 0.0
    ink = print_mask(gray, px_per_print)
    mean_density = max(float(np.count_nonzero(ink)) / ink.size, 1e-4)
    ring_px = max(3, round(limits.GLARE_RING_PRINT * px_per_print))
    ring_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1,) * 2)
    lost = 0
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if min(bw, bh) < 2 * min_radius:
            continue
        # Work on the highlight's neighbourhood only: its glow reaches about its own size.
        pad = max(bw, bh) + ring_px
        y0, x0 = max(y - pad, 0), max(x - pad, 0)
        y1, x1 = min(y + bh + pad, gray.shape[0]), min(x + bw + pad, gray.shape[1])
        blob = (labels[y0:y1, x0:x1] == i).astype(np.uint8)
        if cv2.distanceTransform(blob, cv2.DIST_L2, 3).max() < min_radius:
            continue
        # The glow: what the light brightened above the paper around it, connected to the
        # clipped core. Print washed out in the glow is lost too, so print is looked for
        # at the glow's edge.
        roi = gray[y0:y1, x0:x1]
        paper = percentiles_u8(roi, (50,))[0]
        glow = (roi > paper + limits.GLOW_ABOVE_PAPER).astype(np.uint8) | blob
        _, parts = cv2.connectedComponents(glow, connectivity=8)
        core = np.unique(parts[blob > 0])
        lit = np.isin(parts, core[core > 0])
        ring = cv2.dilate(lit.astype(np.uint8), ring_kernel).astype(bool) & ~lit
        ring_area = max(int(np.count_nonzero(ring)), 1)
        density = float(np.count_nonzero(ink[y0:y1, x0:x1] & ring)) / ring_area
        if density >= limits.GLARE_RING_DENSITY * mean_density:
            lost += int(area)
    return lost / gray.size


def cover_depth_mm(
    document_bgr: np.ndarray, over_lab: tuple[float, float, float], px_per_mm: float
) -> float:
    """How far in from the document's edge the object seen over its edge reaches, in mm:
    pixels of the object's colour connected to the edge, measured from it."""
    lab = cv2.cvtColor(document_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    dist = np.linalg.norm(lab - np.array(over_lab, np.float32), axis=2)
    like = (dist < limits.COVER_COLOUR_DISTANCE).astype(np.uint8)
    like = cv2.morphologyEx(like, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(like, connectivity=4)
    if count <= 1:
        return 0.0
    edge_labels = np.unique(
        np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    )
    edge_labels = edge_labels[edge_labels > 0]
    if len(edge_labels) == 0:
        return 0.0
    on_edge = np.isin(labels, edge_labels)
    h, w = on_edge.shape
    ys, xs = np.nonzero(on_edge)
    depth = np.minimum.reduce([xs, ys, w - 1 - xs, h - 1 - ys])
    return float(depth.max()) / px_per_mm


def margin_share(corners: np.ndarray, width: int, height: int) -> float:
    """Closest distance from a corner to the frame edge, as a share of the frame's short side."""
    xs, ys = corners[:, 0], corners[:, 1]
    nearest = min(
        float(xs.min()), float(ys.min()), width - 1 - float(xs.max()), height - 1 - float(ys.max())
    )
    return nearest / min(width, height)
