"""Every theme is readable: WCAG 2 contrast ratios computed for every text colour it draws."""

from __future__ import annotations

import re

import pytest

from bilik import themes
from bilik.themes import (
    MIN_BODY_CONTRAST,
    TEXT_SCALE,
    THEMES,
    TextSize,
    ThemeName,
    contrast_ratio,
    css,
)


def test_the_contrast_formula_gives_the_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the AA edge
    assert contrast_ratio("#ffffff", "#777777") == contrast_ratio("#777777", "#ffffff")
    for bad in ("fff", "#ggg000", "#12345", "123456"):
        with pytest.raises(ValueError, match="#rrggbb"):
            contrast_ratio(bad, "#ffffff")


@pytest.mark.parametrize("name", list(ThemeName))
def test_every_text_of_every_theme_reaches_7_to_1(name: ThemeName) -> None:
    theme = THEMES[name]
    low = [(what, round(contrast_ratio(fg, bg), 2)) for what, fg, bg in theme.pairs()
           if contrast_ratio(fg, bg) < MIN_BODY_CONTRAST]
    assert low == [], f"{name}: text below {MIN_BODY_CONTRAST}:1"
    assert contrast_ratio(theme.focus, theme.background) >= 3.0  # a visible focus ring
    assert {what for what, _, _ in theme.pairs()} >= {"text", "text_second", "button", "notice"}


def test_text_sizes_are_at_least_three_growing_steps_and_themes_render_as_css() -> None:
    scales = [TEXT_SCALE[s] for s in TextSize]
    assert len(scales) >= 3 and scales == sorted(set(scales)) and scales[0] == 1.0
    sheet = css("high_contrast", "largest")
    assert "--background: #000000;" in sheet and "--scale: 1.5;" in sheet
    assert set(re.findall(r"--([a-z-]+):", sheet)) >= {"background", "text", "button-text"}
    with pytest.raises(ValueError, match="unknown theme 'pink'"):
        themes.theme("pink")
    with pytest.raises(ValueError, match="unknown text size 'huge'"):
        themes.text_scale("huge")
