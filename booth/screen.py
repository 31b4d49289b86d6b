"""The booth screen: draw a :class:`~booth.view.View` with the officer's video and the self view.

:func:`render` is pure (view + pictures in, a BGR picture out) and returns, beside the
picture, the list of text lines it drew, so tests check what the participant reads without
OCR. Layout at 1280x720: a coloured banner across the top, the officer's video large on the
left while in a session (the text column then sits on the right), the self view small in
the bottom right corner, and the instruction first in large type: Bahasa Indonesia in
white, English under it in a lighter grey.

Outputs (``--screen``): ``off`` keeps the last picture in memory (tests, headless runs),
``window`` shows it full-screen with OpenCV (:class:`Window`), and a directory path writes
one PNG per change of screen (snapshots), each with a ``.txt`` beside it holding the lines
drawn.
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageGrab

from bilik import themes
from bilik.themes import TextSize, ThemeName
from booth import limits
from booth.view import BANNER_KIND, View

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


@lru_cache(maxsize=8)
def _base(
    view: View, officer_area: bool, size: tuple[int, int],
    theme_name: ThemeName = ThemeName.STANDARD, scale: float = 1.0,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Everything on the screen but the two videos, whose areas are left as background.

    Text is laid out beside the videos, never over them, so it does not depend on their
    pictures: it is drawn once per view (Pillow and FreeType took ~15 ms a redraw, about
    0.2 core at SCREEN_FPS) and the videos are pasted onto a copy at every redraw.
    """
    width, height = size
    canvas = np.empty((height, width, 3), np.uint8)
    theme = themes.THEMES[theme_name]
    canvas[:] = themes.bgr(theme.background)
    canvas[:BANNER_H] = themes.bgr(theme.banner_colour(BANNER_KIND[view.screen]))
    if theme.banner_colour(BANNER_KIND[view.screen]) == theme.background:
        canvas[BANNER_H - 4:BANNER_H] = themes.bgr(theme.banner_text)  # where the banner ends
    # Pillow draws RGB: the theme's colours as they are.
    first_rgb, second_rgb = themes.rgb(theme.text), themes.rgb(theme.text_second)
    banner_rgb = themes.rgb(theme.banner_text)
    if view.placement is not None:
        draw_placement(canvas, view.placement, (MARGIN, height - PLACEMENT_H - 16))
    text_x, text_w = MARGIN, width - 2 * MARGIN
    if officer_area:
        text_x = MARGIN + OFFICER_W + 32
        text_w = width - text_x - MARGIN
    image = Image.fromarray(canvas[:, :, ::-1])  # Pillow draws RGB
    draw = ImageDraw.Draw(image)
    drawn: list[str] = []

    def put(text: str, x: int, y: int, face: FontT, fill: tuple[int, int, int]) -> int:
        draw.text((x, y), text, font=face, fill=fill)
        drawn.append(text)
        box = draw.textbbox((x, y), text, font=face)
        return int(box[3]) + 6

    narrow = text_w < width // 2  # beside the officer's video: smaller type

    def px(size: int) -> int:  # the booth's text size setting; the banner keeps its own
        return round(size * scale)

    big = font(px(34 if narrow else 44), bold=True)
    y = put(view.banner.id, MARGIN, 12, font(40, bold=True), banner_rgb)
    put(view.banner.en, MARGIN, y - 4, font(24), banner_rgb)
    y = BANNER_H + 28
    bottom = height - (SELF_H + 40 if view.show_self else 24)
    for i, message in enumerate(view.lines):
        first = i == 0
        face_id = big if first else font(px(24 if narrow else 30), bold=True)
        face_en = font(px(26 if narrow else 32)) if first else font(px(20 if narrow else 24))
        limit_w = text_w if y < height - SELF_H - 40 else text_w - SELF_W - 24
        for part in _wrap(draw, message.id, face_id, limit_w):
            if y > bottom:
                break
            y = put(part, text_x, y, face_id, first_rgb)
        for part in _wrap(draw, message.en, face_en, limit_w):
            if y > bottom:
                break
            y = put(part, text_x, y, face_en, second_rgb)
        y += 18 if first else 10
    picture = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    picture.setflags(write=False)  # shared by every redraw of this view
    return picture, tuple(drawn)


PLACEMENT_W, PLACEMENT_H = 208, 117  # the camera's 16:9 view, below the officer's video
PLACEMENT_FILL = 0.8


def draw_placement(canvas: np.ndarray, placement: tuple[float, bool],
                   at: tuple[int, int]) -> tuple[int, int, int, int]:
    """How to lay the document: the camera's view (dark, outlined) with the document in it,
    long side across, its lines of print drawn as they will lie. Returns the document's
    rectangle (x, y, w, h) on ``canvas``."""
    aspect, sideways = placement
    x0, y0 = at
    cv2.rectangle(canvas, (x0, y0), (x0 + PLACEMENT_W, y0 + PLACEMENT_H), (45, 40, 40), -1)
    cv2.rectangle(canvas, (x0, y0), (x0 + PLACEMENT_W, y0 + PLACEMENT_H), (200, 200, 200), 2)
    w = min(PLACEMENT_W * PLACEMENT_FILL, PLACEMENT_H * PLACEMENT_FILL * aspect)
    h = w / aspect
    dx, dy = x0 + round((PLACEMENT_W - w) / 2), y0 + round((PLACEMENT_H - h) / 2)
    w, h = round(w), round(h)
    cv2.rectangle(canvas, (dx, dy), (dx + w, dy + h), (245, 245, 245), -1)
    ink = (110, 100, 100)
    for i in range(1, 6):  # lines of print
        if sideways:
            x = dx + round(i * w / 6)
            cv2.line(canvas, (x, dy + h // 8), (x, dy + h - h // 8), ink, 2)
        else:
            y = dy + round(i * h / 6)
            cv2.line(canvas, (dx + w // 8, y), (dx + w - w // 8, y), ink, 2)
    return dx, dy, w, h


def render(
    view: View,
    officer: np.ndarray | None = None,
    self_view: np.ndarray | None = None,
    *,
    size: tuple[int, int] = (limits.SCREEN_WIDTH, limits.SCREEN_HEIGHT),
    theme: ThemeName | str = ThemeName.STANDARD,
    text_size: TextSize | str = TextSize.NORMAL,
) -> tuple[np.ndarray, list[str]]:
    """The screen picture (BGR, ``size`` = width x height) and the text lines drawn on it,
    in ``theme``'s colours and at ``text_size`` (bilik/themes.py)."""
    width, height = size
    officer_area = view.show_officer and officer is not None
    self_area = view.show_self and self_view is not None
    base, drawn = _base(view, officer_area, size, ThemeName(theme),
                        themes.text_scale(str(text_size)))
    canvas = base.copy()
    if officer is not None and officer_area:
        _paste(canvas, officer, MARGIN, BANNER_H + 24, OFFICER_W, OFFICER_H)
    if self_view is not None and self_area:
        _paste(canvas, self_view, width - SELF_W - 24, height - SELF_H - 24, SELF_W, SELF_H)
    return canvas, list(drawn)


class Window:
    """A full-screen OpenCV (HighGUI) window, owned by a thread of its own.

    OpenCV's HighGUI in the pip wheel is Qt, and Qt wants every call from the thread that
    made its application: the agent draws in worker threads that change, so one thread
    (``booth-screen-window``) opens the window, shows the newest picture, polls the keys
    and destroys it. Full screen is asked for twice: the window manager's full-screen
    state (``WND_PROP_FULLSCREEN``), and the screen's own size and origin for the window,
    because a booth PC may run X without a window manager (a kiosk session), where nobody
    would honour the first and the window would stay 400x300 in a corner.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.keys: list[int] = []
        self.error: str | None = None
        self.shown = 0  # pictures put on the screen
        self._picture: np.ndarray | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="booth-screen-window",
                                        daemon=True)
        self._thread.start()

    def show(self, picture: np.ndarray) -> None:
        with self._cond:
            self._picture = picture
            self._cond.notify()

    def take_keys(self) -> list[int]:
        with self._cond:
            keys, self.keys = self.keys, []
        return keys

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(limits.WINDOW_CLOSE_TIMEOUT_S)

    def _run(self) -> None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            # Qt would abort the whole process rather than raise: say why instead.
            self.error = "cannot open the booth window: no display (DISPLAY is not set)"
            log.error("%s", self.error)
            return
        if _pyav_loaded_first():
            self.error = ("cannot open the booth window: PyAV was imported before OpenCV, "
                          "and OpenCV's Qt window would hang (import cv2 first)")
            log.error("%s", self.error)
            return
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
            cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            size = screen_size()
            if size is not None:
                cv2.resizeWindow(self.title, *size)
                cv2.moveWindow(self.title, 0, 0)
        except cv2.error as exc:
            self.error = f"cannot open the booth window: {exc}"
            log.error("%s", self.error)
            return
        try:
            while True:
                with self._cond:
                    if self._stop:
                        return
                    picture, self._picture = self._picture, None
                if picture is not None:
                    cv2.imshow(self.title, picture)
                    self.shown += 1
                # waitKey also runs the GUI's events (drawing, resizing) while it waits.
                key = cv2.waitKey(limits.WINDOW_EVENTS_MS)
                if key >= 0:
                    with self._cond:
                        self.keys.append(key & 0xFF)
        finally:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)  # let the GUI process the destruction


def _pyav_loaded_first() -> bool:
    """PyAV's bundled libxcb, loaded before OpenCV's, makes OpenCV's Qt GUI hang in its
    first call (PyAV #978, #1050); ``sys.modules`` keeps the order modules were imported."""
    order = list(sys.modules)
    return "av" in order and "cv2" in order and order.index("av") < order.index("cv2")


def screen_size() -> tuple[int, int] | None:
    """The X screen's size in pixels (from its root window), or None if there is no X."""
    display = os.environ.get("DISPLAY")
    if not display:
        return None
    try:
        return ImageGrab.grab(xdisplay=display).size
    except OSError as exc:
        log.warning("cannot read the screen's size from %s: %s", display, exc)
        return None


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
                 *, title: str = "Bilik", theme: str = ThemeName.STANDARD.value,
                 text_size: str = TextSize.NORMAL.value) -> None:
        self.mode = ScreenMode(mode)
        self.theme = themes.theme(theme).name
        themes.text_scale(text_size)  # a ValueError now, not at the first redraw
        self.text_size = TextSize(text_size)
        self.png_dir = png_dir
        self.title = title
        self.last: Snapshot | None = None
        self.snapshots: dict[str, Snapshot] = {}
        self.keys: list[int] = []  # keys pressed in the window since last read
        self.frames_drawn = 0
        self._lock = threading.Lock()
        self.window: Window | None = None
        self._png_count = 0
        if self.mode is ScreenMode.PNG_DIR:
            if png_dir is None:
                raise ValueError("screen mode png-dir needs a directory")
            png_dir.mkdir(parents=True, exist_ok=True)

    def show(self, view: View, officer: np.ndarray | None, self_view: np.ndarray | None) -> None:
        image, drawn = render(view, officer, self_view, theme=self.theme,
                              text_size=self.text_size)
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
            if self.window is None:
                self.window = Window(self.title)
            self.window.show(image)

    def take_keys(self) -> list[int]:
        if self.window is not None:
            self.keys += self.window.take_keys()
        keys, self.keys = self.keys, []
        return keys

    def close(self) -> None:
        window, self.window = self.window, None
        if window is not None:
            window.close()
