"""Deterministic generator of the document-capture test corpus.

Draws an ID-card-like document (header, text fields, a photo box, a QR code, rounded
corners) and lays it on a desk as a document camera would see it (1280 x 720, a little
perspective, uneven light, sensor noise, JPEG), then applies one defect per category with a
few variants. Every sample carries the verdict the gate should reach and, for rejections,
the reason that must be among those it gives.

    python -m hardware.quality.corpus tests/data/quality   # writes *.jpg + manifest.json

The same seed always gives the same pictures (numpy's PCG64 and OpenCV's drawing are
deterministic), so the committed files can be regenerated and checked.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import qrcode

FRAME_W, FRAME_H = 1280, 720
CARD_MM = (85.6, 53.98)
CARD_PX_PER_MM = 16  # drawing resolution; always reduced when placed, never enlarged
JPEG_QUALITY = 82
DEFAULT_SEED = 2020
MANIFEST = "manifest.json"

# category -> (expected to pass, reason that must be given when rejected, variants)
CATEGORIES: dict[str, tuple[bool, str | None, int]] = {
    "sharp": (True, None, 8),
    "blurred": (False, "blurry", 5),
    "glare": (False, "glare", 5),
    "skewed": (False, "tilted", 5),
    "cut_off": (False, "cut_off", 5),
    "dark": (False, "too_dark", 4),
    "bright": (False, "too_bright", 3),
    "low_resolution": (False, "low_resolution", 5),
    "no_document": (False, "no_document", 3),
}

NAMES = ("SITI RAHAYU", "BUDI SANTOSO", "AGUS SETIAWAN", "DEWI LESTARI", "EKO PRASETYO")
CITIES = ("JAKARTA SELATAN", "KOTA BANDUNG", "KAB. SLEMAN", "KOTA MEDAN", "KOTA MAKASSAR")


@dataclass(frozen=True)
class Sample:
    name: str
    category: str
    expect_pass: bool
    expect_reason: str | None
    image: np.ndarray


def draw_card(rng: np.random.Generator) -> np.ndarray:
    """An ID-card-like document, landscape, at ``CARD_PX_PER_MM`` (BGR, no background)."""
    w, h = round(CARD_MM[0] * CARD_PX_PER_MM), round(CARD_MM[1] * CARD_PX_PER_MM)
    s = CARD_PX_PER_MM / 10  # layout below is in tenths of a millimetre * s
    base = np.array([235, 214, 176], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    ramp = np.linspace(0.93, 1.04, w, dtype=np.float32)[None, :, None]
    card = np.clip(base[None, None, :] * ramp * np.ones((h, 1, 1), np.float32), 0, 255)
    card = card.astype(np.uint8)
    # a faint guilloche-like wave pattern, as printed on real cards
    for k in range(12):
        ys = (h / 2 + (h / 3) * np.sin(np.linspace(0, 6 * math.pi, 80) + k / 2)).astype(np.int32)
        xs = np.linspace(0, w, 80).astype(np.int32)
        cv2.polylines(card, [np.stack([xs, ys], 1)], False, (225, 200, 160), 1, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    ink = (40, 30, 25)

    def put(text: str, x: float, y: float, scale: float, thick: int = 2) -> None:
        cv2.putText(card, text, (int(x * s), int(y * s)), font, scale * s, ink, thick, cv2.LINE_AA)

    put("PROVINSI " + CITIES[int(rng.integers(len(CITIES)))].split()[-1], 220, 50, 0.9)
    put(CITIES[int(rng.integers(len(CITIES)))], 250, 90, 0.8)
    nik = "".join(str(int(d)) for d in rng.integers(0, 10, 16))
    put(f"NIK : {nik}", 30, 150, 1.0, 3)
    fields = [
        ("Nama", NAMES[int(rng.integers(len(NAMES)))]),
        (
            "Tempat/Tgl Lahir",
            f"{CITIES[int(rng.integers(len(CITIES)))]}, 1{rng.integers(0, 9)}-0"
            f"{rng.integers(1, 9)}-19{rng.integers(50, 99)}",
        ),
        ("Jenis Kelamin", ("LAKI-LAKI", "PEREMPUAN")[int(rng.integers(2))]),
        ("Alamat", f"JL. MERDEKA NO. {rng.integers(1, 200)}"),
        ("RT/RW", f"00{rng.integers(1, 9)}/00{rng.integers(1, 9)}"),
        ("Agama", "ISLAM"),
        ("Pekerjaan", "KARYAWAN SWASTA"),
    ]
    for i, (label, value) in enumerate(fields):
        put(label, 30, 200 + 38 * i, 0.55)
        put(": " + value, 190, 200 + 38 * i, 0.55)
    # photo box with a head-and-shoulders silhouette
    x0, y0, x1, y1 = int(640 * s), int(120 * s), int(820 * s), int(360 * s)
    cv2.rectangle(card, (x0, y0), (x1, y1), (200, 90, 60), -1)
    cx = (x0 + x1) // 2
    cv2.ellipse(
        card,
        (cx, int(y0 + 0.38 * (y1 - y0))),
        (int(45 * s), int(58 * s)),
        0,
        0,
        360,
        (140, 170, 210),
        -1,
        cv2.LINE_AA,
    )
    cv2.ellipse(
        card, (cx, y1), (int(85 * s), int(70 * s)), 0, 180, 360, (60, 60, 60), -1, cv2.LINE_AA
    )
    # a QR code bottom right, as on membership cards
    code = np.array(qrcode.make(f"BPJS:{nik}", box_size=4, border=1).convert("L"), np.uint8)
    side = int(150 * s)
    qr = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
    qy, qx = h - side - int(25 * s), int(800 * s) - side
    card[qy : qy + side, qx : qx + side] = qr[:, :, None]
    put("BERLAKU HINGGA : SEUMUR HIDUP", 30, 500, 0.5)
    return card


def card_mask(h: int, w: int) -> np.ndarray:
    """Rounded-corner mask (ID-1 corner radius 3.18 mm)."""
    r = round(3.18 * CARD_PX_PER_MM)
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return mask


def desk(rng: np.random.Generator, w: int = FRAME_W, h: int = FRAME_H) -> np.ndarray:
    """A dark, slightly grainy desk mat with uneven light."""
    base = rng.uniform(55, 95)
    tint = np.array([1.0, 1.0 + rng.uniform(-0.1, 0.1), 1.0 + rng.uniform(0.0, 0.25)], np.float32)
    low = cv2.resize(
        rng.normal(0, 10, (6, 10)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    grain = cv2.GaussianBlur(rng.normal(0, 6, (h, w)).astype(np.float32), (0, 0), 1.2)
    lum = base + low + grain
    return np.clip(lum[:, :, None] * tint[None, None, :], 0, 255).astype(np.float32)


def corners_for(
    cx: float,
    cy: float,
    width: float,
    angle_deg: float,
    keystone: float = 0.0,
    pitch: float = 0.0,
    aspect: float = CARD_MM[0] / CARD_MM[1],
) -> np.ndarray:
    """Card corners TL, TR, BR, BL in the frame: centred at (cx, cy), ``width`` px wide,
    turned by ``angle_deg``; ``keystone`` narrows the top edge (the card leans away) and
    ``pitch`` squashes its height (seen at a slant)."""
    height = width / aspect * (1 - pitch)
    top = width * (1 - keystone)
    pts = np.array(
        [
            [-top / 2, -height / 2],
            [top / 2, -height / 2],
            [width / 2, height / 2],
            [-width / 2, height / 2],
        ],
        np.float64,
    )
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (pts @ rot.T + [cx, cy]).astype(np.float32)


def place(card: np.ndarray, background: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Lay ``card`` on ``background`` (float32) with its corners at ``corners``."""
    h, w = background.shape[:2]
    target_w = (
        float(np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    )
    scale = min(1.0, target_w / card.shape[1] * 1.25)
    small = cv2.resize(card, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(
        card_mask(*card.shape[:2]), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA
    )
    sh, sw = small.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    m = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    warped = cv2.warpPerspective(small, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(mask, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    # the card casts a soft shadow on the mat
    shadow = cv2.GaussianBlur(alpha, (0, 0), 6)
    out = background * (1 - 0.35 * shadow[:, :, None])
    return out * (1 - alpha[:, :, None]) + warped.astype(np.float32) * alpha[:, :, None]


def light(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uneven lamp light: brighter towards a random point."""
    h, w = frame.shape[:2]
    px, py = rng.uniform(0, w), rng.uniform(0, h)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((xx - px) ** 2 + (yy - py) ** 2) / math.hypot(w, h)
    return frame * (1.06 - 0.18 * d)[:, :, None]


def finish(frame: np.ndarray, rng: np.random.Generator, noise: float = 2.0) -> np.ndarray:
    """Sensor noise and the 8-bit clip."""
    noisy = frame + rng.normal(0, noise, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def add_glare(frame: np.ndarray, corners: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A lamp's reflection: a bright blob on the card that clips to white."""
    h, w = frame.shape[:2]
    u, v = rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.7)
    top = corners[0] + u * (corners[1] - corners[0])
    bottom = corners[3] + u * (corners[2] - corners[3])
    cx, cy = top + v * (bottom - top)
    card_w = float(np.linalg.norm(corners[1] - corners[0]))
    rx = card_w * rng.uniform(0.05, 0.12)
    ry = rx * rng.uniform(0.6, 0.9)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d2 = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    blob = 320 * np.exp(-0.5 * d2**1.5)
    return frame + blob[:, :, None]


def _placement(rng: np.random.Generator, width: tuple[float, float]) -> dict[str, float]:
    return {
        "cx": FRAME_W / 2 + rng.uniform(-70, 70),
        "cy": FRAME_H / 2 + rng.uniform(-35, 35),
        "width": rng.uniform(*width),
        "angle_deg": rng.uniform(-5, 5),
        "keystone": rng.uniform(0, 0.04),
    }


def _inside(corners: np.ndarray, margin: float = 0.04) -> bool:
    mx, my = FRAME_W * margin, FRAME_H * margin
    xs, ys = corners[:, 0], corners[:, 1]
    return bool(
        xs.min() >= mx and ys.min() >= my and xs.max() <= FRAME_W - mx and ys.max() <= FRAME_H - my
    )


def make_sample(category: str, variant: int, rng: np.random.Generator) -> np.ndarray:
    """One frame of ``category``; ``variant`` picks among the defect's forms."""
    card = draw_card(rng)
    p = _placement(rng, (720, 960))
    background = light(desk(rng), rng)
    if category == "no_document":
        frame = background
        if variant % 2:  # a phone left on the desk: a dark rectangle, not a document
            c = corners_for(
                rng.uniform(300, 900), rng.uniform(200, 500), 300, rng.uniform(-30, 30), aspect=2.1
            )
            cv2.fillConvexPoly(frame, c.astype(np.int32), (30, 30, 32), cv2.LINE_AA)
        return finish(frame, rng)
    if category == "skewed":
        if variant % 2 == 0:
            p["angle_deg"] = float(rng.choice([-1, 1]) * rng.uniform(18, 32))
            p["width"] = rng.uniform(520, 600)  # turned, a wider card would leave the frame
            p["cy"] = FRAME_H / 2
        else:
            p["keystone"] = rng.uniform(0.22, 0.32)
            p["angle_deg"] = rng.uniform(-3, 3)
    elif category == "cut_off":
        side = variant % 4
        out = rng.uniform(0.12, 0.3) * p["width"]
        half_w, half_h = p["width"] / 2, p["width"] * CARD_MM[1] / CARD_MM[0] / 2
        if side == 0:
            p["cx"] = half_w - out
        elif side == 1:
            p["cx"] = FRAME_W - half_w + out
        elif side == 2:
            p["cy"] = half_h - out * 0.6
        else:
            p["cy"] = FRAME_H - half_h + out * 0.6
    elif category == "low_resolution" and variant % 3 != 2:
        p["width"] = rng.uniform(300, 380)
    corners = corners_for(**p)
    if category != "cut_off":  # everything else stays clear of the frame's edges
        while not _inside(corners):
            p["width"] *= 0.95
            corners = corners_for(**p)
    frame = place(card, background, corners)
    if category == "glare":
        frame = add_glare(frame, corners, rng)
    elif category == "dark":
        frame = frame * rng.uniform(0.12, 0.22)
    elif category == "bright":
        frame = frame * rng.uniform(2.2, 2.8) + rng.uniform(30, 60)
    image = finish(frame, rng, noise=3.0 if category == "dark" else 2.0)
    if category == "blurred":
        if variant % 2 == 0:
            image = cv2.GaussianBlur(image, (0, 0), rng.uniform(2.5, 4.0))
        else:  # hand shake: motion blur along a random direction
            length = int(rng.integers(15, 26))
            k = np.zeros((length, length), np.float32)
            k[length // 2, :] = 1.0 / length
            rot = cv2.getRotationMatrix2D(
                (length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0
            )
            kernel = cv2.warpAffine(k, rot, (length, length))
            image = cv2.filter2D(image, -1, kernel / kernel.sum())
    elif category == "low_resolution" and variant % 3 == 2:
        # a cheap webcam: the whole frame is small, even with the card filling it
        image = cv2.resize(image, (427, 240), interpolation=cv2.INTER_AREA)
    return image


def generate(seed: int = DEFAULT_SEED, variants: int | None = None) -> list[Sample]:
    """All samples, in a fixed order; ``variants`` caps the number per category."""
    samples = []
    for ci, (category, (passes, reason, count)) in enumerate(CATEGORIES.items()):
        n = count if variants is None else min(count, variants)
        for v in range(n):
            rng = np.random.default_rng([seed, ci, v])
            samples.append(
                Sample(
                    f"{category}_{v:02d}", category, passes, reason, make_sample(category, v, rng)
                )
            )
    return samples


def write(directory: Path, samples: Sequence[Sample]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for s in samples:
        file = f"{s.name}.jpg"
        ok = cv2.imwrite(str(directory / file), s.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:  # pragma: no cover - disk full or unwritable directory
            raise OSError(f"could not write {directory / file}")
        entries.append(
            {
                "file": file,
                "category": s.category,
                "expect_pass": s.expect_pass,
                "expect_reason": s.expect_reason,
            }
        )
    manifest = directory / MANIFEST
    manifest.write_text(json.dumps({"doc_width_mm": CARD_MM[0], "samples": entries}, indent=1))
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    manifest = write(args.directory, generate(args.seed))
    print(manifest)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
