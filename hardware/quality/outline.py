"""Finding the document's outline in a frame and straightening it (pure functions).

The outline is searched on a copy reduced to ``OUTLINE_WIDTH_PX`` wide, whatever the
camera's resolution: edges of the contrast-stretched grey and of the two colour-difference
channels (a card whose grey matches the desk still differs from it in colour), closed by a
dilation. The largest outer shape's convex hull is simplified to four corners; the hull
bridges gaps in the edge (glare on a border) and swallows rounded card corners.

When the hull is not a clean quadrilateral of the document's proportions (something lies
over the document's edge: a finger, a hand from the frame's edge, a pen), the four sides are
found instead as the longest straight runs of the shape's outline, two pairs of roughly
parallel ones, and the corners are their crossings. What sticks out of that quadrilateral is
the object over the document; its colour is kept so that the gate can see how far it reaches
in.

Straightening uses the full-resolution frame, once the document is found.
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
    that the document runs off the frame; ``area_share`` is its share of the frame;
    ``over_share`` the share of the document's area taken by something crossing its edge
    (0 when nothing does) and ``over_lab`` that object's mean colour (CIE Lab, 8-bit).
    """

    corners: np.ndarray | None
    touches_border: bool
    area_share: float
    over_share: float = 0.0
    over_lab: tuple[float, float, float] | None = None


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


def _stretch(gray: np.ndarray, gain_cap: float = limits.MAX_STRETCH_GAIN) -> np.ndarray:
    lo, hi = np.percentile(gray[::2, ::2], (1, 99))
    if hi - lo < 1:
        return gray
    # Capped gain: a dim card is lifted, but the faint texture of an empty desk is not
    # blown up into edges.
    gain = min(255.0 / (hi - lo), gain_cap)
    scaled = (gray.astype(np.float32) - lo) * gain
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _edges(small_bgr: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2YCrCb)  # the grey and two colour differences
    gray = cv2.GaussianBlur(_stretch(ycc[:, :, 0]), (5, 5), 0)
    edges = cv2.Canny(gray, limits.CANNY_LOW, limits.CANNY_HIGH)
    for c in (1, 2):
        # Chroma around its neutral 128, amplified: a flat grey desk stays flat, a coloured
        # band on a card stands out from it.
        channel = np.ascontiguousarray(ycc[:, :, c])
        chroma = cv2.addWeighted(channel, limits.CHROMA_GAIN, channel, 0.0,
                                 128.0 * (1 - limits.CHROMA_GAIN))  # saturates at 0 and 255
        chroma = cv2.GaussianBlur(chroma, (5, 5), 0)
        edges = cv2.bitwise_or(edges, cv2.Canny(chroma, limits.CANNY_LOW, limits.CANNY_HIGH))
    return cv2.dilate(edges, np.ones((3, 3), np.uint8))


def _four_corners(hull: np.ndarray) -> np.ndarray | None:
    peri = cv2.arcLength(hull, True)
    for eps in (0.02, 0.03, 0.04, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float32)
        if len(approx) < 4:
            return None
    return None


def _line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vx, vy, x0, y0 = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01)
    return np.array([x0[0], y0[0]]), np.array([vx[0], vy[0]])


def _cross(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    (p, r), (q, s) = a, b
    denom = r[0] * s[1] - r[1] * s[0]
    if abs(denom) < 1e-6:
        raise ValueError("parallel sides")
    t = ((q[0] - p[0]) * s[1] - (q[1] - p[1]) * s[0]) / denom
    return p + t * r


def quad_from_sides(contour: np.ndarray) -> np.ndarray | None:
    """Four corners from the longest straight runs of ``contour``: the runs along the
    dominant direction and across it, the outermost of each pair as the document's sides.
    ``None`` when the outline has no two pairs of sides."""
    # Lengths are measured against the hull's perimeter: the outline itself runs up and
    # down a finger, which would make the document's sides look short.
    peri = cv2.arcLength(cv2.convexHull(contour), True)
    poly = cv2.approxPolyDP(contour, 0.01 * peri, True).reshape(-1, 2).astype(np.float64)
    if len(poly) < 4:
        return None
    starts, ends = poly, np.roll(poly, -1, axis=0)
    vec = ends - starts
    lengths = np.hypot(vec[:, 0], vec[:, 1])
    keep = lengths >= limits.SIDE_MIN_SHARE * peri
    if keep.sum() < 3:
        return None
    angles = np.degrees(np.arctan2(vec[:, 1], vec[:, 0])) % 180.0
    main = angles[int(np.argmax(np.where(keep, lengths, 0)))]
    lines = []
    for direction in (main, (main + 90.0) % 180.0):
        diff = np.abs((angles - direction + 90.0) % 180.0 - 90.0)
        group = np.flatnonzero(keep & (diff <= limits.SIDE_ANGLE_DEG))
        if len(group) == 0:
            return None
        normal = np.array([-math.sin(math.radians(direction)), math.cos(math.radians(direction))])
        mids = (starts[group] + ends[group]) / 2 @ normal
        spread = mids.max() - mids.min()
        if spread < 0.1 * peri:
            return None  # one side only: the other is missing (off the frame)
        for pick in (mids <= mids.min() + 0.05 * spread, mids >= mids.max() - 0.05 * spread):
            chosen = group[pick]
            pts = np.concatenate(
                [np.linspace(starts[i], ends[i], 8) for i in chosen], axis=0
            )
            lines.append(_line(pts))
    try:
        corners = [_cross(lines[i], lines[j]) for i, j in ((0, 2), (0, 3), (1, 3), (1, 2))]
    except ValueError:
        return None
    return np.array(corners, np.float32)


def shrink(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` reduced by ``scale`` (<= 1) with area averaging. Halvings first: OpenCV's
    area resize is several times faster for a whole factor of 2 or 4 than for any other,
    which keeps the cost of an 8 MP frame to ~12 ms."""
    if scale >= 1.0:
        return image
    h, w = image.shape[:2]
    factor = 1
    while scale * factor * 4 <= 1.0:
        factor *= 2
    if factor > 1:
        image = cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _touches(pts: np.ndarray, w: int, h: int) -> bool:
    b = limits.BORDER_TOUCH_PX
    return bool(
        (pts[:, 0] <= b).any()
        or (pts[:, 1] <= b).any()
        or (pts[:, 0] >= w - 1 - b).any()
        or (pts[:, 1] >= h - 1 - b).any()
    )


def aspect_fits(corners: np.ndarray, aspect_wanted: float) -> bool:
    """Whether the outline has the document's proportions. Seen leaning, a document's sides
    shrink unevenly, so the tolerance widens by the keystone."""
    ks = keystone(corners)
    tolerance = limits.ASPECT_TOLERANCE + ks
    return bool(
        abs(aspect(corners) / aspect_wanted - 1) <= tolerance
        and ks <= limits.MAX_PLAUSIBLE_KEYSTONE
    )


_fits = aspect_fits


def _over(
    small: np.ndarray, hull: np.ndarray, quad: np.ndarray, doc_mm2: float
) -> tuple[float, tuple[float, float, float] | None]:
    """Share of the quadrilateral's area taken by what sticks out of it (within the shape's
    hull, unlike the desk: the desk's colour is the median of the frame's outer band), and
    that object's mean colour."""
    h, w = small.shape[:2]
    hull_mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull_mask, hull.reshape(-1, 2).astype(np.int32), 255)
    inside = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    outside = cv2.subtract(hull_mask, cv2.dilate(inside, np.ones((7, 7), np.uint8)))
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    band = max(2, min(h, w) // 40)
    border = np.concatenate([lab[:band].reshape(-1, 3), lab[-band:].reshape(-1, 3),
                             lab[:, :band].reshape(-1, 3), lab[:, -band:].reshape(-1, 3)])
    desk = np.median(border, axis=0).astype(np.float32)
    unlike = np.linalg.norm(lab.astype(np.float32) - desk, axis=2) > limits.COVER_COLOUR_DISTANCE
    region = cv2.erode((unlike & (outside > 0)).astype(np.uint8), np.ones((3, 3), np.uint8))
    area = max(float(cv2.contourArea(quad)), 1.0)
    share = float(np.count_nonzero(region)) / area
    if share * doc_mm2 < limits.COVER_MIN_MM2:
        return share, None
    mean = cv2.mean(lab, mask=region)
    return share, (float(mean[0]), float(mean[1]), float(mean[2]))


def find_outline(frame_bgr: np.ndarray, aspect_wanted: float, doc_mm2: float) -> Outline:
    """Search ``frame_bgr`` for the largest document-shaped quadrilateral whose side ratio is
    near ``aspect_wanted`` (long over short) for a document of ``doc_mm2`` square millimetres
    (see the module doc)."""
    w = frame_bgr.shape[1]
    scale = min(1.0, limits.OUTLINE_WIDTH_PX / w)
    small = shrink(frame_bgr, scale)
    edges = _edges(small)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    sh, sw = small.shape[:2]
    frame_area = float(sh * sw)
    best: Outline | None = None
    shapes = sorted(contours, key=lambda c: cv2.contourArea(cv2.convexHull(c)), reverse=True)
    for contour in shapes[:3]:
        hull = cv2.convexHull(contour)
        share = cv2.contourArea(hull) / frame_area
        if share < limits.MIN_DOC_AREA_SHARE:
            break
        touches = _touches(hull.reshape(-1, 2), sw, sh)
        corners = _four_corners(hull)
        if corners is not None and not touches and _fits(corners, aspect_wanted):
            return Outline(order_corners(corners / scale), False, share)  # the common case
        # Something over the edge, or the document runs off the frame: find its sides.
        quad = quad_from_sides(contour)
        if quad is not None and _fits(quad, aspect_wanted) and not _touches(quad, sw, sh):
            over, lab = _over(small, hull, quad, doc_mm2)
            qshare = cv2.contourArea(quad) / frame_area
            return Outline(order_corners(quad / scale), False, qshare, over, lab)
        if touches:
            found_corners = None if corners is None else order_corners(corners / scale)
            return Outline(found_corners, True, share)
        found = Outline(None if corners is None else order_corners(corners / scale), False, share)
        if best is None:
            best = found
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
    long_, short = max(s[0] + s[2], s[1] + s[3]), min(s[0] + s[2], s[1] + s[3])
    return float(long_ / max(short, 1e-6))


def px_per_mm(corners: np.ndarray, long_mm: float) -> float:
    """Resolution of the document in the frame, from its long sides and physical length."""
    s = side_lengths(corners)
    return float((s[0] + s[2]) / 2 / long_mm)


def warp(
    frame_bgr: np.ndarray, corners: np.ndarray, doc_mm: tuple[float, float], px_per_mm: float
) -> np.ndarray:
    """The document straightened at ``px_per_mm`` (long side across). A document resolved
    much finer than that is first shrunk by area averaging, on its own bounding box only,
    so that no print aliases and an 8 MP frame costs little more than a 720p one."""
    w = max(round(doc_mm[0] * px_per_mm), 8)
    h = max(round(doc_mm[1] * px_per_mm), 8)
    src = corners.astype(np.float32)
    have = float(np.max(side_lengths(src)[[0, 2]])) / doc_mm[0]
    image = frame_bgr
    if have > limits.PRE_SHRINK_ABOVE * px_per_mm:
        fh, fw = frame_bgr.shape[:2]
        x0, y0 = np.floor(src.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(src.max(axis=0)).astype(int) + 3
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, fw), min(y1, fh)
        roi = frame_bgr[y0:y1, x0:x1]
        image = roi
        while have / 2 >= px_per_mm:  # exact halvings are cheap and alias nothing
            image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                               interpolation=cv2.INTER_AREA)
            have /= 2
        ratio = have / px_per_mm
        if ratio > limits.PRE_SHRINK_ABOVE:
            # Less than a halving left: a light blur stands in for area averaging (a third
            # of the cost) before the warp resamples.
            image = cv2.GaussianBlur(image, (0, 0), 0.5 * (ratio * ratio - 1) ** 0.5)
        size = (image.shape[1], image.shape[0])
        src = (src - [x0, y0]) * [size[0] / roi.shape[1], size[1] / roi.shape[0]]
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR)
