"""The booth screen: the text of every screen in both languages, and what is drawn where."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bilik.catalogue import text
from bilik.themes import THEMES, TextSize, ThemeName, bgr
from booth import limits
from booth.screen import (
    BANNER_H,
    MARGIN,
    OFFICER_H,
    OFFICER_W,
    BoothScreen,
    draw_placement,
    render,
)
from booth.state import (
    Booth,
    BoothState,
    CheckedIn,
    ClaimRefused,
    DocStatus,
    Document,
    Outcome,
    transition,
)
from booth.view import BANNER_BGR, BANNER_KIND, ScreenName, compose

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

SESSION = Booth(state=BoothState.IN_SESSION, online=True, ticket="T-1", number="A-001",
                pairing="p-1", hub="hub-01")
CASES: dict[ScreenName, tuple[Booth, list[str]]] = {
    ScreenName.WELCOME: (Booth(online=True), ["booth.welcome"]),
    ScreenName.WAITING: (
        Booth(state=BoothState.WAITING, online=True, number="A-001", expected_wait_s=430),
        ["booth.waiting"],
    ),
    ScreenName.IN_SESSION: (
        Booth(**{**SESSION.__dict__, "focused": True}), ["booth.in_session"]),
    ScreenName.OFFICER_BUSY: (SESSION, ["booth.officer_busy", "booth.raise_hand"]),
    ScreenName.SCANNING: (
        Booth(**{**SESSION.__dict__, "state": BoothState.SCANNING,
                 "documents": (Document("ktp"), Document("kk", DocStatus.UPLOADED))}),
        [],
    ),
    ScreenName.VERDICT: (
        Booth(state=BoothState.VERDICT, online=True,
              verdict=Outcome("JHT-2026-0001", "Disetujui / Approved", "Dana ditransfer")),
        ["booth.printing"],
    ),
    ScreenName.GOODBYE: (
        Booth(state=BoothState.RECEIPT, online=True, receipt_printed=True,
              verdict=Outcome("JHT-2026-0001", "Disetujui / Approved")),
        ["booth.receipt_taken", "booth.goodbye"],
    ),
    ScreenName.RECONNECTING: (
        Booth(**{**SESSION.__dict__, "online": False}), ["booth.reconnecting"]),
    ScreenName.OUT_OF_SERVICE: (
        Booth(state=BoothState.OUT_OF_SERVICE, online=True, faults=("printer",)),
        ["booth.out_of_service"],
    ),
}


def officer_picture() -> np.ndarray:
    picture = np.zeros((480, 640, 3), np.uint8)
    picture[:, :, 1] = 200  # plain green: easy to find on the screen
    return picture


@pytest.mark.parametrize("screen", list(ScreenName))
def test_each_screen_says_its_instruction_in_both_languages(screen: ScreenName) -> None:
    booth, keys = CASES[screen]
    view = compose(booth)
    assert view.screen is screen
    image, drawn = render(view, officer_picture(), np.full((480, 640, 3), 90, np.uint8))
    joined = " ".join(drawn)
    for key in keys:
        message = text(key)
        assert message.id in joined and message.en in joined, key
    assert view.banner.id in drawn and view.banner.en in drawn
    assert tuple(int(v) for v in image[BANNER_H // 2, 5]) == BANNER_BGR[screen]
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(DOCS_IMG / f"booth-{screen.value}.png"), image)


def test_the_officer_is_large_on_the_left_during_a_session() -> None:
    view = compose(Booth(**{**SESSION.__dict__, "focused": True}))
    image, _ = render(view, officer_picture(), None)
    middle = image[BANNER_H + 24 + OFFICER_H // 2, 40 + OFFICER_W // 2]
    assert tuple(int(v) for v in middle) == (0, 200, 0)
    idle, _ = render(compose(Booth(online=True)), officer_picture(), None)
    assert tuple(int(v) for v in idle[BANNER_H + 24 + OFFICER_H // 2, 40 + OFFICER_W // 2]) != (
        0, 200, 0)


def test_busy_officer_screen_has_the_agreed_wording() -> None:
    _, drawn = render(compose(SESSION), officer_picture(), None)
    assert "Petugas sedang melayani peserta lain - mohon tunggu" in " ".join(drawn)


def test_scanning_shows_the_gate_guidance_first_and_each_document_status() -> None:
    booth = CASES[ScreenName.SCANNING][0]
    view = compose(booth, text("quality.blurry"))
    assert view.lines[0] == text("quality.blurry")
    joined = " ".join(view.texts())
    assert "KTP: belum dipindai" in joined and "Kartu Keluarga: diterima" in joined
    assert "family card: received" in joined and "Place your ID card" in joined


def test_waiting_shows_an_honest_rounded_up_wait() -> None:
    view = compose(CASES[ScreenName.WAITING][0])
    assert text("booth.expected_wait", minutes=8) in view.lines


def test_a_failed_receipt_shows_reference_and_decision() -> None:
    booth = Booth(state=BoothState.RECEIPT, online=True, receipt_printed=False,
                  verdict=Outcome("JHT-2026-0001", "approved"))
    _, drawn = render(compose(booth))
    joined = " ".join(drawn)
    assert "JHT-2026-0001" in joined and "Disetujui" in joined and "Approved" in joined
    assert text("booth.receipt_failed").id.split(".")[0] in joined


def test_a_participant_away_is_asked_back_first() -> None:
    view = compose(Booth(**{**SESSION.__dict__, "present": False}))
    assert view.lines[0] == text("booth.come_back") and view.away


def test_a_refused_claim_is_explained_on_the_welcome_screen() -> None:
    view = compose(Booth(online=True, notice="queue.not_called"))
    assert view.lines[0] == text("queue.not_called")
    with_missing_value = compose(Booth(online=True, notice="queue.wrong_booth"))
    assert with_missing_value.lines[0] == text("booth.claim_refused")


def test_a_notice_goes_after_a_while_so_the_next_participant_does_not_read_it() -> None:
    booth, _ = transition(Booth(online=True), CheckedIn(at=1000.0, number="R002"))
    told = text("booth.checked_in", number="R002")
    assert compose(booth, now=1000.0).lines[0] == told
    assert compose(booth, now=1000.0 + limits.NOTICE_SHOWN_S).lines[0] == told
    later = compose(booth, now=1000.0 + limits.NOTICE_SHOWN_S + 1)
    assert later.lines[0] == text("booth.welcome") and told not in later.lines
    refused, _ = transition(booth, ClaimRefused(at=2000.0, text_key="queue.booking_used"))
    assert compose(refused, now=2001.0).lines[0] == text("queue.booking_used")


def test_png_dir_writes_one_snapshot_per_change(tmp_path: Path) -> None:
    screen = BoothScreen("png-dir", tmp_path)
    for _ in range(3):
        screen.show(compose(Booth(online=True)), None, None)
    screen.show(compose(SESSION), officer_picture(), None)
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png")
    assert names == ["booth-0001-welcome.png", "booth-0002-officer_busy.png"]
    # Beside each picture, the lines it shows, for reading a booth that runs as a process.
    lines = (tmp_path / "booth-0002-officer_busy.txt").read_text()
    assert "Petugas sedang melayani peserta lain" in lines and "The officer is serving" in lines
    saved = cv2.imread(str(tmp_path / names[1]))
    assert saved is not None and saved.shape == (720, 1280, 3)


def test_a_redraw_changes_only_the_videos_and_leaves_no_trace_of_the_last_one() -> None:
    """The text is drawn once per view; each redraw pastes the videos onto a copy of it."""
    view = compose(SESSION)
    me = np.full((480, 640, 3), 90, np.uint8)
    other = officer_picture()
    other[:, :, 2] = 255  # a different officer picture: red added
    first, drawn = render(view, officer_picture(), me)
    second, drawn_again = render(view, other, me)
    officer_area = (slice(BANNER_H + 24, BANNER_H + 24 + OFFICER_H), slice(40, 40 + OFFICER_W))
    assert not np.array_equal(first[officer_area], second[officer_area])
    outside = np.ones(first.shape[:2], bool)
    outside[officer_area] = False
    assert np.array_equal(first[outside], second[outside])  # text, banner, self view
    assert drawn == drawn_again
    assert np.array_equal(render(view, officer_picture(), me)[0], first)  # nothing left over


@pytest.mark.parametrize("theme", list(ThemeName))
def test_each_theme_draws_in_its_own_colours_and_larger_text_wraps_into_more_lines(
    theme: ThemeName,
) -> None:
    colours = THEMES[theme]
    view = compose(Booth(online=True))
    lines = {}
    for size in TextSize:
        image, drawn = render(view, None, None, theme=theme, text_size=size)
        lines[size] = len(drawn)
        assert tuple(int(v) for v in image[-5, -5]) == bgr(colours.background)
        assert tuple(int(v) for v in image[BANNER_H // 2, 5]) == bgr(
            colours.banner_colour(BANNER_KIND[ScreenName.WELCOME]))
        text_area = image[BANNER_H:].reshape(-1, 3)
        for colour in (colours.text, colours.text_second):  # the words, in the theme's colours
            assert (text_area == np.array(bgr(colour), np.uint8)).all(axis=1).sum() > 200
        if theme is ThemeName.HIGH_CONTRAST and size is TextSize.LARGEST:
            cv2.imwrite(str(DOCS_IMG / "booth-welcome-high-contrast-largest.png"), image)
    # The same words take more lines as the type grows: the size setting is really applied.
    assert lines[TextSize.NORMAL] < lines[TextSize.LARGE] <= lines[TextSize.LARGEST]
    with pytest.raises(ValueError, match="unknown theme"):
        BoothScreen(theme="pink")
    with pytest.raises(ValueError, match="unknown text size"):
        BoothScreen(text_size="huge")


@pytest.mark.parametrize(("kind", "aspect", "sideways"),
                         [("ktp", 85.6 / 53.98, False), ("kk", 297 / 210, False),
                          ("termination", 297 / 210, True)])
def test_scanning_shows_how_to_lay_the_document_asked_for(
        kind: str, aspect: float, sideways: bool) -> None:
    booth = Booth(**{**SESSION.__dict__, "state": BoothState.SCANNING,
                     "documents": (Document(kind),)})
    view = compose(booth)
    assert view.placement is not None
    assert view.placement[0] == pytest.approx(aspect, rel=0.01)
    assert view.placement[1] is sideways
    picture, _ = render(view, officer_picture(), None)
    # The picture is on the screen: the document, light, in the camera's dark view.
    canvas = np.zeros_like(picture)
    x, y, w, h = draw_placement(canvas, view.placement, (MARGIN, picture.shape[0] - 133))
    assert w / h == pytest.approx(aspect, rel=0.05) and w > h
    assert picture[y + 2, x + 2].min() > 200  # the document's corner, drawn
    # and its lines of print run along the long side, or across it when laid sideways
    column = picture[y + 4: y + h - 4, x + round(w * 1.5 / 6)]  # between two lines...
    row = picture[y + round(h * 1.5 / 6), x + 4: x + w - 4]  # ...whichever way they run
    dark_column, dark_row = (column.min(axis=1) < 150).sum(), (row.min(axis=1) < 150).sum()
    assert bool(dark_row > dark_column) is sideways


def test_no_placement_picture_outside_scanning() -> None:
    assert compose(SESSION).placement is None
