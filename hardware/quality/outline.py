"""Finding the document's outline in a frame and straightening it (pure functions).

The outline is searched on a copy reduced to ``OUTLINE_WIDTH_PX``: contrast-stretched grey,
smoothed, Canny edges, closed by a dilation; the largest outer contour's convex hull is
simplified to four corners. The hull makes the search robust to gaps in the edge (glare
on a border, a finger) and to rounded card corners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from hardware.quality import limits


@dataclass(frozen=True)
class Outline:
    """What the search found.

    ``corners`` (float32 4 x 2, frame pixels, TL TR BR BL with TL->TR along the document's
    long side) is ``None`` when no four-cornered shape was found; ``touches_border`` tells
    that the largest shape runs off the frame; ``area_share`` is its hull's share of the
    frame.
    """

    corners: np.ndarray | None
    touches_border: bool
    area_share: float


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Four points in clockwise order (image coordinates), starting with the corner nearest
    the top left, then turned so that the first side is a long side."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen, since y grows downwards
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    sides = side_lengths(pts)
    if sides[0] + sides[2] < sides[1] + sides[3]:
        pts = np.roll(pts, -1, axis=0)
    return pts


def side_lengths(corners: np.ndarray) -> np.ndarray:
    """Lengths of sides TL-TR, TR-BR, BR-BL, BL-TL."""
    return np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)


def _stretch(gray: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(gray, (1, 99))
    if hi - lo < 1:
        return gray
    # Capped gain: a dim card is lifted, but the faint texture of an empty desk is not
    # blown up into edges.
    gain = min(255.0 / (hi - lo), limits.MAX_STRETCH_GAIN)
    scaled = (gray.astype(np.float32) - lo) * gain
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _four_corners(hull: np.ndarray) -> np.ndarray | None:
    peri = cv2.arcLength(hull, True)
    for eps in (0.02, 0.03, 0.04, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float32)
        if len(approx) < 4:
            return None
    return None


def find_outline(frame_bgr: np.ndarray) -> Outline:
    """Search ``frame_bgr`` for the largest four-cornered shape (see module doc)."""
    h, w = frame_bgr.shape[:2]
    scale = min(1.0, limits.OUTLINE_WIDTH_PX / w)
    small = frame_bgr
    if scale < 1.0:
        small = cv2.resize(
            frame_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
    gray = _stretch(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(gray, limits.CANNY_LOW, limits.CANNY_HIGH)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    sh, sw = gray.shape
    frame_area = float(sh * sw)
    best: Outline | None = None
    hulls = sorted((cv2.convexHull(c) for c in contours), key=cv2.contourArea, reverse=True)
    for hull in hulls[:3]:
        share = cv2.contourArea(hull) / frame_area
        if share < limits.MIN_DOC_AREA_SHARE:
            break
        pts = hull.reshape(-1, 2)
        b = limits.BORDER_TOUCH_PX
        touches = bool(
            (pts[:, 0] <= b).any()
            or (pts[:, 1] <= b).any()
            or (pts[:, 0] >= sw - 1 - b).any()
            or (pts[:, 1] >= sh - 1 - b).any()
        )
        corners = _four_corners(hull)
        if corners is not None:
            corners = order_corners(corners / scale)
        found = Outline(corners, touches, share)
        if best is None:
            best = found
        if corners is not None and not touches:
            return found  # the largest clean quadrilateral
        if touches:
            return found  # the largest shape runs off the frame: that is the news
    return best or Outline(None, False, 0.0)


def tilt_degrees(corners: np.ndarray) -> float:
    """In-plane turn of the document's long sides from the nearest frame axis, 0..45."""
    top = corners[1] - corners[0]
    bottom = corners[2] - corners[3]
    v = top + bottom
    angle = math.degrees(math.atan2(float(v[1]), float(v[0])))
    folded = (angle + 45.0) % 90.0 - 45.0  # a card laid portrait is turned, not tilted
    return abs(folded)


def keystone(corners: np.ndarray) -> float:
    """How much opposite sides differ (0 = a true rectangle seen square on)."""
    s = side_lengths(corners)
    ratios = (min(s[0], s[2]) / max(s[0], s[2]), min(s[1], s[3]) / max(s[1], s[3]))
    return float(1.0 - min(ratios))


def aspect(corners: np.ndarray) -> float:
    """Long side over short side, averaging opposite sides."""
    s = side_lengths(corners)
    return float((s[0] + s[2]) / max(s[1] + s[3], 1e-6))


def warp(frame_bgr: np.ndarray, corners: np.ndarray, doc_mm: tuple[float, float]) -> np.ndarray:
    """The document straightened to ``WARP_WIDTH_PX`` wide, height from its proportions."""
    w = limits.WARP_WIDTH_PX
    h = round(w * doc_mm[1] / doc_mm[0])
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    return cv2.warpPerspective(frame_bgr, m, (w, h), flags=cv2.INTER_LINEAR)
