"""Camera frames of every document kind, good and bad, at real document-camera sizes.

Each frame is a document from :mod:`hardware.quality.drawing` laid on a desk mat and seen as
a camera would: lamp light, vignette, white balance, sensor noise and JPEG, at 1920x1080 or
8 MP (3264x2448). One case per frame, with the verdict the gate must reach and, for a
rejection, the reason it must give. Cases include what must pass although it is white
(white print, QR codes, white paper a little over-exposed, a sleeve's highlight on a margin,
a colour band whose grey matches the desk) and what must be refused (a finger over the
print, a highlight over it, blur judged at the print's size, a page too small to read).

    for scene in generate(seed=2020, sizes=("1080p",), variants=1): judge(scene.image, scene.kind)

Deterministic for a seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from bilik.documents import DocumentKind, Material, kind
from hardware.quality import drawing, limits

FRAME_SIZES: dict[str, tuple[int, int]] = {"1080p": (1920, 1080), "8mp": (3264, 2448)}
KINDS = ("ktp", "membership", "kk", "termination", "bank_book")  # the JHT claim's five
JPEG_QUALITY = 88


@dataclass(frozen=True)
class Case:
    passes: bool
    reason: str | None
    materials: tuple[Material, ...] = (Material.CARD, Material.PAPER)


CASES: dict[str, Case] = {
    "sharp": Case(True, None),
    "white_print": Case(True, None, (Material.CARD,)),  # white title on a coloured band + QR
    "colour_band": Case(True, None, (Material.CARD,)),  # band as grey as the desk, other hue
    "bright_page": Case(True, None, (Material.PAPER,)),  # paper clipped white, print intact
    "sleeve": Case(True, None, (Material.PAPER,)),  # a sleeve's highlight on the margin
    "blurred": Case(False, "blurry"),
    "glare": Case(False, "glare"),  # a highlight over the print
    "covered": Case(False, "covered"),  # a finger over the print
    "skewed": Case(False, "tilted"),
    "cut_off": Case(False, "cut_off"),
    "dark": Case(False, "too_dark"),
    "bright": Case(False, "too_bright"),
    "low_resolution": Case(False, "low_resolution"),
    "no_document": Case(False, "no_document"),
}


@dataclass(frozen=True)
class Scene:
    name: str
    kind: str
    size: str
    case: str
    expect_pass: bool
    expect_reason: str | None
    image: np.ndarray


def _desk(rng: np.random.Generator, w: int, h: int) -> tuple[np.ndarray, float]:
    base = rng.uniform(55, 90)
    tint = np.array([1.0, 1.0 + rng.uniform(-0.08, 0.08), 1.0 + rng.uniform(0.0, 0.2)], np.float32)
    low = cv2.resize(rng.normal(0, 8, (6, 10)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(rng.normal(0, 6, (h // 2, w // 2)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_LINEAR)
    lum = base + low + grain
    return lum[:, :, None] * tint[None, None, :], base


def _corners(cx: float, cy: float, width: float, aspect: float, angle: float,
             keystone: float = 0.0) -> np.ndarray:
    height = width / aspect
    top = width * (1 - keystone)
    pts = np.array([[-top / 2, -height / 2], [top / 2, -height / 2], [width / 2, height / 2],
                    [-width / 2, height / 2]])
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (pts @ rot.T + [cx, cy]).astype(np.float32)


def _place(doc: np.ndarray, alpha_mask: np.ndarray, frame: np.ndarray,
           corners: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    dh, dw = doc.shape[:2]
    src = np.array([[0, 0], [dw, 0], [dw, dh], [0, dh]], np.float32)
    m = cv2.getPerspectiveTransform(src, corners)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 20
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 20
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return frame
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    m = shift @ m
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(doc, m, size, flags=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.warpPerspective(alpha_mask, m, size, flags=cv2.INTER_LINEAR)
    alpha = alpha.astype(np.float32)[:, :, None] / 255
    shadow = cv2.GaussianBlur(alpha, (0, 0), 6)[:, :, None] if alpha.ndim == 3 else alpha
    roi = frame[y0:y1, x0:x1]
    roi *= 1 - 0.35 * shadow.reshape(alpha.shape)
    frame[y0:y1, x0:x1] = roi * (1 - alpha) + warped * alpha
    return frame


def _finger(frame: np.ndarray, tip: np.ndarray, rng: np.random.Generator,
            width_px: float) -> None:
    """A finger (and the hand behind it) from the nearest frame edge to ``tip``."""
    h, w = frame.shape[:2]
    x, y = float(tip[0]), float(tip[1])
    edges = {(x, -0.2 * h): y, (x, 1.2 * h): h - y, (-0.2 * w, y): x, (1.2 * w, y): w - x}
    start = min(edges, key=edges.__getitem__)
    skin = np.array([110, 150, 205], np.float32) * rng.uniform(0.75, 1.05)
    layer = np.zeros(frame.shape[:2], np.uint8)
    cv2.line(layer, (round(start[0]), round(start[1])), (round(x), round(y)), 255,
             round(width_px), cv2.LINE_AA)
    cv2.circle(layer, (round(x), round(y)), round(width_px / 2), 255, -1, cv2.LINE_AA)
    alpha = cv2.GaussianBlur(layer, (0, 0), 1.5).astype(np.float32)[:, :, None] / 255
    shade = cv2.GaussianBlur(layer, (0, 0), width_px / 4).astype(np.float32)[:, :, None] / 255
    finger = skin[None, None, :] * (0.7 + 0.3 * shade)
    frame *= 1 - 0.3 * cv2.GaussianBlur(alpha, (0, 0), width_px / 3)[:, :, None]
    frame[:] = frame * (1 - alpha) + finger * alpha


def _highlight(frame: np.ndarray, centre: np.ndarray, rx: float, ry: float,
               strength: float) -> None:
    h, w = frame.shape[:2]
    r = int(3 * max(rx, ry))
    x0, y0 = max(int(centre[0]) - r, 0), max(int(centre[1]) - r, 0)
    x1, y1 = min(int(centre[0]) + r, w), min(int(centre[1]) + r, h)
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d2 = ((xx - centre[0]) / rx) ** 2 + ((yy - centre[1]) / ry) ** 2
    frame[y0:y1, x0:x1] += (strength * np.exp(-0.5 * d2**1.5))[:, :, None]


def _camera(frame: np.ndarray, rng: np.random.Generator, gain: float = 1.0,
            noise: float = 2.0) -> np.ndarray:
    """Lamp light, vignette, white balance, gain, sensor noise, 8-bit clip, JPEG."""
    h, w = frame.shape[:2]
    sy, sx = np.ogrid[-1:1:complex(0, h // 8), -1:1:complex(0, w // 8)]
    px, py = rng.uniform(-0.6, 0.6, 2)
    light = 1.08 - 0.12 * np.sqrt((sx - px) ** 2 + (sy - py) ** 2)  # the lamp
    light *= 1.0 - 0.18 * (sx**2 + sy**2) / 2  # vignette
    light = cv2.resize(light.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    wb = np.array([rng.uniform(0.92, 1.08), 1.0, rng.uniform(0.92, 1.08)], np.float32)
    frame *= (light * gain)[:, :, None]
    frame *= wb[None, None, :]
    small_noise = rng.normal(0, noise, (h // 2, w // 2, 3)).astype(np.float32)
    frame += cv2.resize(small_noise, (w, h), interpolation=cv2.INTER_NEAREST)
    image = np.clip(frame, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover
        raise RuntimeError("JPEG decoding failed")
    return np.asarray(decoded)


def _blur(image: np.ndarray, rng: np.random.Generator, print_px: float, variant: int) -> np.ndarray:
    """Blur of a quarter to a half of the smallest print's height: that print is smeared."""
    if variant % 2 == 0:
        return cv2.GaussianBlur(image, (0, 0), print_px * rng.uniform(0.22, 0.4))
    length = max(3, int(print_px * rng.uniform(1.2, 2.0)))
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0 / length
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def render(k: DocumentKind, size: str, case: str, variant: int,
           rng: np.random.Generator, people: list[drawing.Person] | None = None) -> np.ndarray:
    """One camera frame of ``case`` for kind ``k`` at frame ``size`` (``people`` on it:
    the holder first; random ones by default)."""
    w, h = FRAME_SIZES[size]
    frame, desk_grey = _desk(rng, w, h)
    need = k.px_per_mm_for(limits.PRINT_PX)
    reach = min(w * 0.92 / k.long_mm, h * 0.92 / k.short_mm)  # the largest that fits
    card = k.material is Material.CARD
    if case == "bright":  # the lamp over-exposes the document on the booth's black mat
        frame *= 0.45 if card else 0.2
    # Cards lie in a holder at 45-75 % of the frame; pages nearly fill it.
    share = rng.uniform(0.45, 0.75) if card else rng.uniform(0.9, 0.97)
    scale = max(reach * share, need * 1.12)
    scale = min(scale, reach)
    angle = rng.uniform(-4, 4) if card else rng.uniform(-0.8, 0.8)
    keystone = rng.uniform(0, 0.03)
    cx, cy = w / 2, h / 2
    if case == "no_document":
        if variant % 2:  # a phone on the desk: dark, the wrong shape
            c = _corners(w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7), h * 0.5, 2.1,
                         rng.uniform(-30, 30))
            cv2.fillConvexPoly(frame, c.astype(np.int32), (30, 30, 32), cv2.LINE_AA)
        return _camera(frame, rng)
    if case == "low_resolution":
        scale = need * rng.uniform(0.5, 0.82)
    elif case == "skewed":
        if variant % 2 == 0:
            angle = float(rng.choice([-1, 1]) * rng.uniform(18, 28))
            rad = math.radians(abs(angle))
            fit = min(w * 0.92 / (k.long_mm * math.cos(rad) + k.short_mm * math.sin(rad)),
                      h * 0.92 / (k.long_mm * math.sin(rad) + k.short_mm * math.cos(rad)))
            scale = min(scale, fit)
        else:
            keystone = rng.uniform(0.2, 0.3)
            scale *= 0.92
    elif case == "cut_off":
        out = rng.uniform(0.12, 0.3)
        side = variant % 4
        half_w, half_h = k.long_mm * scale / 2, k.short_mm * scale / 2
        cx = [half_w * (1 - 2 * out), w - half_w * (1 - 2 * out), cx, cx][side]
        cy = [cy, cy, half_h * (1 - 2 * out), h - half_h * (1 - 2 * out)][side]
    ppm_draw = min(scale * 1.05, 16.0)
    white = case == "white_print" or (card and variant % 3 == 1)
    band: tuple[int, int, int] | None = None
    if case == "colour_band":
        # A saturated band exactly as grey as the desk: invisible to a grey edge search.
        hsv = np.array([[[rng.uniform(0, 180), 230, 200]]], np.uint8)
        colour = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
        grey = 0.114 * colour[0] + 0.587 * colour[1] + 0.299 * colour[2]
        cb, cg, cr = (int(v) for v in np.clip(colour * desk_grey / grey, 0, 255))
        band = (cb, cg, cr)
    doc = drawing.draw(k, rng, px_per_mm=ppm_draw, people=people, white_print=white, band=band)
    if band is not None:  # the band runs along the card's short side
        doc[:, : round(doc.shape[1] * 0.22)] = band
        doc[: round(11 * ppm_draw)] = band
    corners = _corners(cx, cy, k.long_mm * scale, k.aspect, angle, keystone)
    frame = _place(doc, drawing.mask(k, *doc.shape[:2]), frame, corners)
    print_px = k.smallest_print_mm * scale

    dh, dw = doc.shape[:2]
    to_frame = cv2.getPerspectiveTransform(
        np.array([[0, 0], [dw, 0], [dw, dh], [0, dh]], np.float32), corners)

    def at(xy: tuple[float, float]) -> np.ndarray:
        pt = cv2.perspectiveTransform(np.array([[xy]], np.float32), to_frame)
        return pt[0, 0]

    # Where the print is on this drawing, and the blank place farthest from it.
    grey = cv2.cvtColor(doc, cv2.COLOR_BGR2GRAY)
    ink_y, ink_x = np.nonzero(grey[::4, ::4] < 140)

    def on_print() -> np.ndarray:
        i = int(rng.integers(len(ink_x)))
        return at((ink_x[i] * 4.0, ink_y[i] * 4.0))

    gain = 1.0 if card else rng.uniform(0.86, 0.93)  # white paper is kept under clipping
    if case == "glare":
        r = print_px * rng.uniform(2.5, 4.0)
        _highlight(frame, on_print(), r, r * rng.uniform(0.6, 0.9), 320)
    elif case == "sleeve":
        # A small highlight of the sleeve on the blank paper, far from the print.
        blank = cv2.distanceTransform((grey[::4, ::4] >= 140).astype(np.uint8), cv2.DIST_L2, 3)
        blank[:2], blank[-2:], blank[:, :2], blank[:, -2:] = 0, 0, 0, 0
        far_y, far_x = np.nonzero(blank >= blank.max() * 0.8)
        i = int(rng.integers(len(far_x)))
        # Its glow stays clear of the print: a third of the way to the nearest print.
        room = float(blank[far_y[i], far_x[i]]) * 4 * scale / ppm_draw
        r = min(print_px * rng.uniform(1.0, 1.8), room / 3)
        _highlight(frame, at((far_x[i] * 4.0, far_y[i] * 4.0)), r, r * 0.7, 260)
    elif case == "covered":
        _finger(frame, on_print(), rng, 16 * scale)
    image_gain = gain
    if case == "dark":
        image_gain = rng.uniform(0.12, 0.22)
    elif case == "bright":
        image_gain = rng.uniform(2.4, 3.0) if card else rng.uniform(7.5, 9.0)
    elif case == "bright_page":
        image_gain = rng.uniform(1.12, 1.25)
    image = _camera(frame, rng, image_gain, noise=3.0 if case == "dark" else 2.0)
    if case == "blurred":
        image = _blur(image, rng, print_px, variant)
    return image


def generate(
    seed: int = 2020,
    *,
    kinds: Sequence[str] = KINDS,
    sizes: Sequence[str] = tuple(FRAME_SIZES),
    cases: Sequence[str] = tuple(CASES),
    variants: int = 1,
) -> Iterator[Scene]:
    """Every applicable case of every kind at every size, ``variants`` of each, in order."""
    for ki, name in enumerate(kinds):
        k = kind(name)
        for si, size in enumerate(sizes):
            for ci, case in enumerate(cases):
                spec = CASES[case]
                if k.material not in spec.materials:
                    continue
                for v in range(variants):
                    rng = np.random.default_rng([seed, ki, si, ci, v])
                    yield Scene(f"{name}_{size}_{case}_{v:02d}", name, size, case, spec.passes,
                                spec.reason, render(k, size, case, v, rng))
