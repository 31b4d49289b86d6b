"""Readable by everyone: colour themes and text sizes for the booth screen and the kiosk page.

One table for both: the booth screen (OpenCV, :mod:`booth.screen`) takes its colours from
:func:`bgr` and its type size from :data:`TEXT_SCALE`; the kiosk page (plain CSS) gets the
same theme as CSS custom properties from :func:`css`. Each device picks its theme and size
in its own config (``theme``, ``text_size``), because a booth by a bright window and a
kiosk by the door need different ones.

Every pair of text and background colour a theme uses is listed by :meth:`Theme.pairs`,
and ``tests/booth/test_themes.py`` checks the WCAG 2 contrast ratio of each: at least 7:1
(level AAA for body text), so that elderly participants and those with low vision read
every line, in every theme. The ratio is computed here (:func:`contrast_ratio`, the WCAG
formula), not taken on trust.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

MIN_BODY_CONTRAST = 7.0  # WCAG 2 level AAA for body text


class ThemeName(enum.StrEnum):
    STANDARD = "standard"  # calm dark blue, as the branch's signs
    HIGH_CONTRAST = "high_contrast"  # white and yellow on black


class BannerKind(enum.StrEnum):
    """What the booth's state banner says by its colour (the words say it too)."""

    CALM = "calm"  # welcome, scanning, goodbye: the flow goes on
    WAIT = "wait"  # waiting for an officer
    OK = "ok"  # connected to an officer, decision made
    OFFLINE = "offline"  # reconnecting
    FAULT = "fault"  # out of service


class TextSize(enum.StrEnum):
    NORMAL = "normal"
    LARGE = "large"
    LARGEST = "largest"


TEXT_SCALE: dict[TextSize, float] = {
    TextSize.NORMAL: 1.0,
    TextSize.LARGE: 1.25,
    TextSize.LARGEST: 1.5,
}


@dataclass(frozen=True)
class Theme:
    """Colours as ``#rrggbb``; each ``*_text`` is drawn on the background named before it."""

    name: ThemeName
    background: str  # the page or screen
    text: str  # Bahasa Indonesia, the instruction
    text_second: str  # English, beside or under it
    banner: str  # the booth's state banner / the kiosk's title bar
    banner_text: str
    button: str  # the kiosk's big buttons
    button_text: str
    help_button: str  # the kiosk's help button (and the booth's "out of service" banner)
    help_text: str
    notice: str  # a refusal or a warning (paper out, another day...)
    notice_text: str
    focus: str  # the keyboard focus ring (not text: checked against the background at 3:1)
    # The booth banner's colour per kind of screen; its text is ``banner_text``.
    banners: tuple[tuple[BannerKind, str], ...] = ()

    def banner_colour(self, kind: BannerKind) -> str:
        for name, colour in self.banners:
            if name is kind:
                return colour
        return self.banner

    def pairs(self) -> list[tuple[str, str, str]]:
        """``(what, text colour, background colour)`` for every text the theme draws."""
        banners = [(f"banner_{kind}", self.banner_text, self.banner_colour(kind))
                   for kind in BannerKind]
        return [*banners,
            ("text", self.text, self.background),
            ("text_second", self.text_second, self.background),
            ("banner", self.banner_text, self.banner),
            ("button", self.button_text, self.button),
            ("help", self.help_text, self.help_button),
            ("notice", self.notice_text, self.notice),
        ]


THEMES: dict[ThemeName, Theme] = {
    ThemeName.STANDARD: Theme(
        ThemeName.STANDARD,
        background="#0b2a4a", text="#ffffff", text_second="#d6e2ee",
        banner="#062038", banner_text="#ffffff",
        button="#f2c200", button_text="#061a2e",
        help_button="#ffffff", help_text="#7a0000",
        notice="#fff1c2", notice_text="#3a1e00",
        focus="#ffd84d",
        banners=((BannerKind.CALM, "#0d4573"), (BannerKind.WAIT, "#6b3f00"),
                 (BannerKind.OK, "#1d5420"), (BannerKind.OFFLINE, "#3c3c3c"),
                 (BannerKind.FAULT, "#8a0c0c")),
    ),
    ThemeName.HIGH_CONTRAST: Theme(
        ThemeName.HIGH_CONTRAST,
        background="#000000", text="#ffffff", text_second="#ffff00",
        banner="#000000", banner_text="#ffff00",
        button="#ffff00", button_text="#000000",
        help_button="#ffffff", help_text="#000000",
        notice="#ffffff", notice_text="#000000",
        focus="#00ffff",
        banners=tuple((kind, "#000000") for kind in BannerKind),
    ),
}


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#0b2a4a"`` -> ``(11, 42, 74)``; ValueError for anything else."""
    if len(colour) != 7 or colour[0] != "#":
        raise ValueError(f"colour must be #rrggbb, got {colour!r}")
    try:
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
    except ValueError:
        raise ValueError(f"colour must be #rrggbb, got {colour!r}") from None


def bgr(colour: str) -> tuple[int, int, int]:
    """The colour as OpenCV and the booth screen want it."""
    r, g, b = rgb(colour)
    return b, g, r


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio, 1.0 (none) to 21.0 (black on white); order does not matter."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def theme(name: str) -> Theme:
    try:
        return THEMES[ThemeName(name)]
    except ValueError:
        raise ValueError(
            f"unknown theme {name!r}; expected one of {', '.join(t.value for t in ThemeName)}"
        ) from None


def text_scale(size: str) -> float:
    try:
        return TEXT_SCALE[TextSize(size)]
    except ValueError:
        raise ValueError(
            f"unknown text size {size!r}; expected one of {', '.join(s.value for s in TextSize)}"
        ) from None


def css(name: str, size: str) -> str:
    """The theme and size as CSS custom properties (``--background``, ``--scale``...)."""
    chosen = theme(name)
    lines = [f"  --{f.name.replace('_', '-')}: {getattr(chosen, f.name)};"
             for f in fields(chosen) if f.name not in ("name", "banners")]
    lines.append(f"  --scale: {text_scale(size)};")
    return ":root {\n" + "\n".join(lines) + "\n}\n"
