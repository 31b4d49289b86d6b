"""The "please wait" card every booth out of focus sees: drawn once, encoded once, shared.

Text comes from the catalogue (Bahasa Indonesia first, English beside it). The picture
is plain on purpose: a still image costs the shared VP8 encoder almost nothing between
keyframes.
"""

from __future__ import annotations

import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bilik.catalogue import text

BACKGROUND = (24, 58, 94)  # RGB: calm dark blue
FOREGROUND = (255, 255, 255)
SECONDARY = (190, 210, 230)


def render_wait_card(width: int = 640, height: int = 480) -> np.ndarray:
    """The card as a BGR ``uint8`` array of ``height`` x ``width``."""
    if width % 2 or height % 2 or width < 160 or height < 120:
        raise ValueError(f"card size must be even and at least 160x120, not {width}x{height}")
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    scale = width / 640
    title = text("officer.wait_title")
    body = text("officer.wait_body")
    hand = text("officer.wait_hand")
    y = int(60 * scale)
    for line, size, colour in (
        (title.id, 40, FOREGROUND),
        (title.en, 26, SECONDARY),
    ):
        y = _centred(draw, line, y, width, int(size * scale), colour) + int(8 * scale)
    y += int(24 * scale)
    for message in (body, hand):
        for line in textwrap.wrap(message.id, 40):
            y = _centred(draw, line, y, width, int(22 * scale), FOREGROUND) + int(4 * scale)
        for line in textwrap.wrap(message.en, 46):
            y = _centred(draw, line, y, width, int(18 * scale), SECONDARY) + int(4 * scale)
        y += int(18 * scale)
    rgb = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _centred(
    draw: ImageDraw.ImageDraw, line: str, y: int, width: int, size: int, colour: tuple[int, ...]
) -> int:
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), line, font=font)
    draw.text(((width - (right - left)) // 2, y), line, font=font, fill=colour)
    return int(y + (bottom - top))
