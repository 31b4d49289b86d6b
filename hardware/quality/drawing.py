"""Drawings of the claim's documents, for the generated corpus and the OCR tests.

Each drawing is a BGR picture of one document kind at ``px_per_mm``, long side across,
with print of the kind's smallest size, a QR code where the real one has one, and the
NIK and name given (so OCR can be checked against them). Deterministic for a given
``numpy`` generator.

    page = draw(kind("kk"), rng, px_per_mm=8, people=[Person(nik, name), ...])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import qrcode

from bilik.documents import DocumentKind, Material
from bilik.documents.nik import PROVINCES

NAMES = ("SITI RAHAYU", "BUDI SANTOSO", "AGUS SETIAWAN", "DEWI LESTARI", "EKO PRASETYO",
         "NURUL HIDAYAH", "RUDI HARTONO", "SRI WAHYUNI")
CITIES = ("JAKARTA SELATAN", "KOTA BANDUNG", "KAB. SLEMAN", "KOTA MEDAN", "KOTA MAKASSAR")
INK = (40, 30, 25)
FONT = cv2.FONT_HERSHEY_SIMPLEX
# Hershey simplex capitals are ~0.7 x (30 * scale) px tall at thickness 1: scale per mm.
_CAP_PER_SCALE = 21.5


@dataclass(frozen=True)
class Person:
    nik: str
    name: str


def random_person(rng: np.random.Generator) -> Person:
    """A person with a NIK of valid structure (region, birth date, serial)."""
    province = sorted(PROVINCES)[int(rng.integers(len(PROVINCES)))]
    region = f"{province:02d}{int(rng.integers(1, 80)):02d}{int(rng.integers(1, 40)):02d}"
    day = int(rng.integers(1, 29)) + (40 if rng.integers(2) else 0)
    birth = f"{day:02d}{int(rng.integers(1, 13)):02d}{int(rng.integers(50, 100)):02d}"
    serial = f"{int(rng.integers(1, 9999)):04d}"
    return Person(region + birth + serial, NAMES[int(rng.integers(len(NAMES)))])


def _put(img: np.ndarray, text: str, x_mm: float, y_mm: float, cap_mm: float, ppm: float,
         colour: tuple[int, int, int] = INK, bold: bool = False) -> None:
    scale = cap_mm * ppm / _CAP_PER_SCALE
    thick = max(1, round(scale * (2.4 if bold else 1.6)))
    cv2.putText(img, text, (round(x_mm * ppm), round(y_mm * ppm)), FONT, scale, colour, thick,
                cv2.LINE_AA)


def _qr(img: np.ndarray, data: str, x_mm: float, y_mm: float, side_mm: float, ppm: float) -> None:
    code = np.array(qrcode.make(data, box_size=4, border=4).convert("L"), np.uint8)
    side = round(side_mm * ppm)
    qr = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
    x, y = round(x_mm * ppm), round(y_mm * ppm)
    # Printed in the same ink as the text (never a purer black than the print around it).
    area = img[y : y + side, x : x + side]
    img[y : y + side, x : x + side] = np.where(qr[:, :, None] < 128, np.array(INK, np.uint8), area)


def _card(kind: DocumentKind, rng: np.random.Generator, ppm: float, people: list[Person],
          white_print: bool, band: tuple[int, int, int] | None) -> np.ndarray:
    w, h = round(kind.long_mm * ppm), round(kind.short_mm * ppm)
    base = np.array([235, 214, 176], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    ramp = np.linspace(0.93, 1.04, w, dtype=np.float32)[None, :, None]
    card = np.clip(base[None, None, :] * ramp * np.ones((h, 1, 1), np.float32), 0, 255)
    card = card.astype(np.uint8)
    for k in range(12):  # guilloche-like waves, as printed on real cards
        ys = (h / 2 + (h / 3) * np.sin(np.linspace(0, 6 * math.pi, 80) + k / 2)).astype(np.int32)
        xs = np.linspace(0, w, 80).astype(np.int32)
        cv2.polylines(card, [np.stack([xs, ys], 1)], False, (225, 200, 160), 1, cv2.LINE_AA)
    person = people[0]
    header = 0.0
    if band is not None or white_print:
        # A coloured header band (the membership card's), its title in white print.
        colour = band if band is not None else (120, 70, 20)
        card[: round(11 * ppm)] = colour
        _put(card, "BPJS KETENAGAKERJAAN", 4, 7.5, 3.2, ppm, (255, 255, 255), bold=True)
        header = 8.0
    else:
        _put(card, "PROVINSI " + CITIES[int(rng.integers(len(CITIES)))].split()[-1], 22, 5, 2.2,
             ppm, bold=True)
    _put(card, f"NIK : {person.nik}", 3, 15 + header * 0.3, 2.6, ppm, bold=True)
    fields = [
        ("Nama", person.name),
        ("Tempat/Tgl Lahir", f"{CITIES[int(rng.integers(len(CITIES)))]}, 12-08-1970"),
        ("Jenis Kelamin", ("LAKI-LAKI", "PEREMPUAN")[int(rng.integers(2))]),
        ("Alamat", f"JL. MERDEKA NO. {rng.integers(1, 200)}"),
        ("Agama", "ISLAM"),
        ("Pekerjaan", "KARYAWAN SWASTA"),
    ]
    for i, (label, value) in enumerate(fields):
        y = 20 + header * 0.3 + 4.2 * i
        if y > kind.short_mm - 4:
            break
        _put(card, label, 3, y, kind.smallest_print_mm, ppm)
        _put(card, ": " + value, 19, y, kind.smallest_print_mm, ppm)
    x0, y0, x1, y1 = (round(v * ppm) for v in (64, 12 + header * 0.3, 82, 36 + header * 0.3))
    cv2.rectangle(card, (x0, y0), (x1, y1), (200, 90, 60), -1)
    cx = (x0 + x1) // 2
    cv2.ellipse(card, (cx, round(y0 + 0.38 * (y1 - y0))), (round(4.5 * ppm), round(5.8 * ppm)),
                0, 0, 360, (140, 170, 210), -1, cv2.LINE_AA)
    cv2.ellipse(card, (cx, y1), (round(8.5 * ppm), round(7 * ppm)), 0, 180, 360, (60, 60, 60),
                -1, cv2.LINE_AA)
    _qr(card, f"BPJS:{person.nik}", 66, kind.short_mm - 15.5, 13, ppm)
    return card


def _letter_lines(rng: np.random.Generator, n: int) -> list[str]:
    words = ("bahwa", "yang", "bersangkutan", "telah", "bekerja", "pada", "perusahaan", "kami",
             "sejak", "tanggal", "sampai", "dengan", "sebagai", "karyawan", "tetap", "dan",
             "berhenti", "atas", "permintaan", "sendiri", "surat", "ini", "dibuat")
    return [" ".join(words[int(i)] for i in rng.integers(0, len(words), 9)) for _ in range(n)]


def _paper(kind: DocumentKind, rng: np.random.Generator, ppm: float,
           people: list[Person]) -> np.ndarray:
    """A white page laid long side across: the family card's member table, a letter or
    form turned sideways, or a passbook's identity page."""
    # Drawn as read, then turned so the long side runs across.
    rw, rh = round(kind.width_mm * ppm), round(kind.height_mm * ppm)
    paper = np.full((rh, rw, 3), 246, np.uint8)
    paper = np.clip(paper.astype(np.int16) + rng.integers(-4, 5, 3).astype(np.int16), 0, 255)
    paper = paper.astype(np.uint8)
    p = kind.smallest_print_mm
    person = people[0]
    if kind.rows:  # the family card: title, head of family, member table, QR
        _put(paper, "KARTU KELUARGA", kind.width_mm / 2 - 30, 16, 5, ppm, bold=True)
        _put(paper, f"No. {person.nik[:6]}{int(rng.integers(10**9, 10**10))}",
             kind.width_mm / 2 - 25, 24, 3, ppm)
        _put(paper, f"Nama Kepala Keluarga : {person.name}", 15, 36, p * 1.2, ppm)
        top, row = 48.0, 7.0
        cols = (15, 25, 95, 140, 190, 240)
        heads = ("No", "Nama Lengkap", "NIK", "Jenis Kelamin", "Tempat Lahir", "Agama")
        cv2.rectangle(paper, (round(12 * ppm), round(top * ppm)),
                      (round((kind.width_mm - 12) * ppm), round((top + row * 7) * ppm)), INK, 1)
        for c, head in zip(cols, heads, strict=True):
            _put(paper, head, c, top + 5, p, ppm, bold=True)
        for i, member in enumerate(people[:6]):
            y = top + row * (i + 1) + 5
            cv2.line(paper, (round(12 * ppm), round((y - 5) * ppm)),
                     (round((kind.width_mm - 12) * ppm), round((y - 5) * ppm)), INK, 1)
            values = (str(i + 1), member.name, member.nik, ("LAKI-LAKI", "PEREMPUAN")[i % 2],
                      CITIES[i % len(CITIES)], "ISLAM")
            for c, v in zip(cols, values, strict=True):
                _put(paper, v, c, y, p, ppm)
        _qr(paper, f"KK:{person.nik}", kind.width_mm - 45, kind.height_mm - 45, 30, ppm)
        _put(paper, "Dikeluarkan Tanggal : 12-03-2021", 15, kind.height_mm - 20, p, ppm)
    elif kind.width_mm < 150:  # a passbook page
        _put(paper, "BUKU TABUNGAN", 10, 18, 4, ppm, bold=True)
        _put(paper, "Nama", 10, 40, p, ppm)
        _put(paper, ": " + person.name, 40, 40, p, ppm)
        _put(paper, "No. Rekening", 10, 50, p, ppm)
        _put(paper, f": {int(rng.integers(10**9, 10**10))}", 40, 50, p, ppm)
        _put(paper, "NIK", 10, 60, p, ppm)
        _put(paper, ": " + person.nik, 40, 60, p, ppm)
        for i in range(8):
            y = 80 + i * 9
            _put(paper, f"0{i + 1}-02-2021  SETOR  {int(rng.integers(10**5, 10**7)):,}", 10, y,
                 p, ppm)
    else:  # a letter or a form
        _put(paper, kind.id.split("(")[0].strip().upper()[:34], 25, 35, 4, ppm, bold=True)
        _put(paper, "Yang bertanda tangan di bawah ini menerangkan bahwa:", 25, 55, p * 1.2, ppm)
        _put(paper, "Nama", 30, 68, p * 1.2, ppm)
        _put(paper, ": " + person.name, 65, 68, p * 1.2, ppm)
        _put(paper, "NIK", 30, 76, p * 1.2, ppm)
        _put(paper, ": " + person.nik, 65, 76, p * 1.2, ppm)
        for i, line in enumerate(_letter_lines(rng, 18)):
            _put(paper, line, 25, 92 + i * 7.5, p, ppm)
        _qr(paper, f"DOC:{person.nik}", kind.width_mm - 50, kind.height_mm - 55, 25, ppm)
        _put(paper, "Hormat kami,", 25, kind.height_mm - 45, p * 1.2, ppm)
    if kind.height_mm > kind.width_mm:
        paper = np.ascontiguousarray(np.rot90(paper, 1))
    return paper


def draw(
    kind: DocumentKind,
    rng: np.random.Generator,
    *,
    px_per_mm: float,
    people: list[Person] | None = None,
    white_print: bool = False,
    band: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """One document of ``kind`` at ``px_per_mm``, long side across (BGR, no background).

    ``people`` (the first is the holder; the family card lists them all) default to random
    ones; ``white_print`` gives a card a coloured band with white print, ``band`` that band's
    colour."""
    people = people or [random_person(rng) for _ in range(4)]
    if kind.material is Material.CARD:
        return _card(kind, rng, px_per_mm, people, white_print, band)
    return _paper(kind, rng, px_per_mm, people)


def mask(kind: DocumentKind, h: int, w: int) -> np.ndarray:
    """Where the document is: rounded ID-1 corners (radius 3.18 mm) for a card, square for
    paper."""
    out = np.zeros((h, w), np.uint8)
    if kind.material is not Material.CARD:
        out[:] = 255
        return out
    r = round(3.18 * w / kind.long_mm)
    cv2.rectangle(out, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(out, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(out, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return out
