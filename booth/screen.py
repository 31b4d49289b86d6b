"""The booth screen: draw a :class:`~booth.view.View` with the officer's video and the self view.

:func:`render` is pure (view + pictures in, a BGR picture out) and returns, beside the
picture, the list of text lines it drew, so tests check what the participant reads without
OCR. Layout at 1280x720: a coloured banner across the top, the officer's video large on the
left while in a session (the text column then sits on the right), the self view small in
the bottom right corner, and the instruction first in large type: Bahasa Indonesia in
white, English under it in a lighter grey.

Outputs (``--screen``): ``off`` keeps the last picture in memory (tests, headless runs),
``window`` shows it full-screen with OpenCV, and a directory path writes one PNG per
change of screen (snapshots), each with a ``.txt`` beside it holding the lines drawn.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from booth import limits
from booth.view import BANNER_BGR, View

log = logging.getLogger(__name__)

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
BANNER_H = 96
MARGIN = 40
SELF_W, SELF_H = 256, 144
OFFICER_W, OFFICER_H = 800, 450
TEXT_WHITE = (255, 255, 255)
TEXT_GREY = (200, 200, 200)
BACKGROUND_BGR = (48, 32, 24)

FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> FontT:
    """DejaVu Sans (installed by the setup script), else Pillow's own scalable default."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        path = folder / name
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    log.warning("DejaVu fonts not found; using Pillow's default font")
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: FontT, width: int) -> list[str]:
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=face) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _paste(canvas: np.ndarray, picture: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
        return  # not a BGR picture: leave the area as it is
    canvas[y:y + h, x:x + w] = cv2.resize(picture, (w, h), interpolation=cv2.INTER_AREA)


def render(
    view: View,
    officer: np.ndarray | None = None,
    self_view: np.ndarray | None = None,
    *,
    size: tuple[int, int] = (limits.SCREEN_WIDTH, limits.SCREEN_HEIGHT),
) -> tuple[np.ndarray, list[str]]:
    """The screen picture (BGR, ``size`` = width x height) and the text lines drawn on it."""
    width, height = size
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = BACKGROUND_BGR
    canvas[:BANNER_H] = BANNER_BGR[view.screen]
    text_x, text_w = MARGIN, width - 2 * MARGIN
    if view.show_officer and officer is not None:
        _paste(canvas, officer, MARGIN, BANNER_H + 24, OFFICER_W, OFFICER_H)
        text_x = MARGIN + OFFICER_W + 32
        text_w = width - text_x - MARGIN
    if view.show_self and self_view is not None:
        _paste(canvas, self_view, width - SELF_W - 24, height - SELF_H - 24, SELF_W, SELF_H)
    image = Image.fromarray(canvas[:, :, ::-1])  # Pillow draws RGB
    draw = ImageDraw.Draw(image)
    drawn: list[str] = []

    def put(text: str, x: int, y: int, face: FontT, fill: tuple[int, int, int]) -> int:
        draw.text((x, y), text, font=face, fill=fill)
        drawn.append(text)
        box = draw.textbbox((x, y), text, font=face)
        return int(box[3]) + 6

    narrow = text_w < width // 2  # beside the officer's video: smaller type
    big = font(34 if narrow else 44, bold=True)
    y = put(view.banner.id, MARGIN, 12, font(40, bold=True), TEXT_WHITE)
    put(view.banner.en, MARGIN, y - 4, font(24), TEXT_GREY)
    y = BANNER_H + 28
    bottom = height - (SELF_H + 40 if view.show_self else 24)
    for i, message in enumerate(view.lines):
        first = i == 0
        face_id = big if first else font(24 if narrow else 30, bold=True)
        face_en = font(26 if narrow else 32) if first else font(20 if narrow else 24)
        limit_w = text_w if y < height - SELF_H - 40 else text_w - SELF_W - 24
        for part in _wrap(draw, message.id, face_id, limit_w):
            if y > bottom:
                break
            y = put(part, text_x, y, face_id, TEXT_WHITE)
        for part in _wrap(draw, message.en, face_en, limit_w):
            if y > bottom:
                break
            y = put(part, text_x, y, face_en, TEXT_GREY)
        y += 18 if first else 10
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1]), drawn


class ScreenMode(enum.StrEnum):
    OFF = "off"
    WINDOW = "window"
    PNG_DIR = "png-dir"


@dataclass
class Snapshot:
    view: View
    image: np.ndarray
    drawn: list[str]


class BoothScreen:
    """Where rendered pictures go: nowhere but memory, a full-screen window, or PNG files.

    ``show`` is called from the agent's screen task; the last snapshot of each screen name
    is kept (``snapshots``) so tests and the soak can look at what was shown.
    """

    def __init__(self, mode: ScreenMode | str = ScreenMode.OFF, png_dir: Path | None = None,
                 *, title: str = "Bilik") -> None:
        self.mode = ScreenMode(mode)
        self.png_dir = png_dir
        self.title = title
        self.last: Snapshot | None = None
        self.snapshots: dict[str, Snapshot] = {}
        self.keys: list[int] = []  # keys pressed in the window since last read
        self.frames_drawn = 0
        self._lock = threading.Lock()
        self._window_open = False
        self._png_count = 0
        if self.mode is ScreenMode.PNG_DIR:
            if png_dir is None:
                raise ValueError("screen mode png-dir needs a directory")
            png_dir.mkdir(parents=True, exist_ok=True)

    def show(self, view: View, officer: np.ndarray | None, self_view: np.ndarray | None) -> None:
        image, drawn = render(view, officer, self_view)
        snap = Snapshot(view, image, drawn)
        changed = self.last is None or self.last.view != view
        with self._lock:
            self.last = snap
            self.snapshots[view.screen.value] = snap
            self.frames_drawn += 1
        if self.mode is ScreenMode.PNG_DIR and changed and self.png_dir is not None:
            self._png_count += 1
            path = self.png_dir / f"booth-{self._png_count:04d}-{view.screen.value}.png"
            cv2.imwrite(str(path), image)
            # What was drawn, beside the picture: a test or a technician reads the
            # screen of a booth running as a process without OCR.
            path.with_suffix(".txt").write_text("\n".join(drawn) + "\n", encoding="utf-8")
        elif self.mode is ScreenMode.WINDOW:
            if not self._window_open:
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
                cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
                self._window_open = True
            cv2.imshow(self.title, image)
            key = cv2.waitKey(1)
            if key >= 0:
                self.keys.append(key & 0xFF)

    def take_keys(self) -> list[int]:
        keys, self.keys = self.keys, []
        return keys

    def close(self) -> None:
        if self._window_open:
            cv2.destroyWindow(self.title)
            self._window_open = False
