"""What the booth screen says in each state: a pure text model, before any pixel is drawn.

:func:`compose` turns the booth's state (and the live scan guidance) into a :class:`View`:
which screen, the banner, and the lines to show, every one a catalogue message in both
languages. One instruction at a time: the first line is the instruction, the others are
facts (ticket number, expected wait, document statuses). Tests read this model; the
renderer (:mod:`booth.screen`) only draws it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from bilik import documents
from bilik.catalogue import Message, text
from bilik.themes import THEMES, BannerKind, ThemeName, bgr
from booth import limits
from booth.state import Booth, BoothState, DocStatus, Document


class ScreenName(enum.StrEnum):
    WELCOME = "welcome"
    WAITING = "waiting"
    IN_SESSION = "in_session"
    OFFICER_BUSY = "officer_busy"
    SCANNING = "scanning"
    VERDICT = "verdict"
    GOODBYE = "goodbye"
    RECONNECTING = "reconnecting"
    OUT_OF_SERVICE = "out_of_service"


# What each screen's banner says by its colour (bilik/themes.py gives the colour per
# theme): calm blue for the flow, amber for waiting, red only for out of service.
BANNER_KIND: dict[ScreenName, BannerKind] = {
    ScreenName.WELCOME: BannerKind.CALM,
    ScreenName.WAITING: BannerKind.WAIT,
    ScreenName.IN_SESSION: BannerKind.OK,
    ScreenName.OFFICER_BUSY: BannerKind.WAIT,
    ScreenName.SCANNING: BannerKind.CALM,
    ScreenName.VERDICT: BannerKind.OK,
    ScreenName.GOODBYE: BannerKind.CALM,
    ScreenName.RECONNECTING: BannerKind.OFFLINE,
    ScreenName.OUT_OF_SERVICE: BannerKind.FAULT,
}
# The banner colours (BGR) of the standard theme.
BANNER_BGR: dict[ScreenName, tuple[int, int, int]] = {
    screen: bgr(THEMES[ThemeName.STANDARD].banner_colour(kind))
    for screen, kind in BANNER_KIND.items()
}


@dataclass(frozen=True)
class View:
    screen: ScreenName
    banner: Message
    lines: tuple[Message, ...]  # the first one is the instruction
    show_officer: bool = False
    show_self: bool = False
    away: bool = False  # the seat is empty: the "please come back" line is on top
    # How to lay the document asked for under the camera, drawn as a picture: its side
    # ratio (long side across the camera's view) and whether its lines of print then run
    # up the picture (a portrait letter laid sideways). None: no document asked for.
    placement: tuple[float, bool] | None = None

    def texts(self) -> list[str]:
        """Every piece of text of the view, Indonesian and English."""
        out = [self.banner.id, self.banner.en]
        for line in self.lines:
            out += [line.id, line.en]
        return out


def screen_for(booth: Booth) -> ScreenName:
    s = booth.state
    if s is BoothState.OUT_OF_SERVICE:
        return ScreenName.OUT_OF_SERVICE
    if not booth.online and s is not BoothState.RECEIPT:
        return ScreenName.RECONNECTING
    return {
        BoothState.IDLE: ScreenName.WELCOME,
        BoothState.CLAIMED: ScreenName.WAITING,
        BoothState.WAITING: ScreenName.WAITING,
        BoothState.IN_SESSION: (
            ScreenName.IN_SESSION if booth.focused else ScreenName.OFFICER_BUSY
        ),
        BoothState.SCANNING: ScreenName.SCANNING,
        BoothState.VERDICT: ScreenName.VERDICT,
        BoothState.RECEIPT: ScreenName.GOODBYE,
    }[s]


def bilingual(key: str, **values: Message | str) -> Message:
    """A message whose placeholders are themselves messages: each language gets its own."""
    base = text(key)
    ids = {k: v.id if isinstance(v, Message) else v for k, v in values.items()}
    ens = {k: v.en if isinstance(v, Message) else v for k, v in values.items()}
    return Message(key, base.id.format(**ids), base.en.format(**ens))


def kind_name(kind: str) -> Message:
    """The short name the booth says (catalogue), else the kind's name from the document
    data (:mod:`bilik.documents`), else "document (kind)"."""
    try:
        return text(f"booth.kind_{kind}")
    except KeyError:
        pass
    known = documents.kinds().get(kind)
    if known is not None:
        return Message(f"documents.{kind}", known.id, known.en)
    other = text("booth.kind_other")
    return Message(other.key, f"{other.id} ({kind})", f"{other.en} ({kind})")


def outcome_name(outcome: str) -> Message:
    """The decision in words (``approved`` -> Disetujui / Approved), else the code itself."""
    try:
        return text(f"booth.outcome_{outcome}")
    except KeyError:
        return Message("", outcome, outcome)


def _doc_line(doc: Document) -> Message:
    return bilingual(f"booth.doc_{doc.status.value}", document=kind_name(doc.kind))


def _wait_line(booth: Booth) -> Message:
    if booth.expected_wait_s < 60:
        return text("booth.expected_wait_soon")
    # Rounded up: an honest wait is never shorter than the estimate.
    return text("booth.expected_wait", minutes=math.ceil(booth.expected_wait_s / 60))


def _notice(booth: Booth, now: float | None) -> Message | None:
    if not booth.notice:
        return None
    if now is not None and booth.notice_at and now - booth.notice_at > limits.NOTICE_SHOWN_S:
        return None  # said to the participant before; the next one must not read it
    try:
        message = text(booth.notice)
        values = dict(booth.notice_values)
        if message.placeholders() - set(values):
            return text("booth.claim_refused")
        return message.format(**values) if values else message
    except (KeyError, IndexError, ValueError):
        return text("booth.claim_refused")


def compose(booth: Booth, guidance: Message | None = None, *, now: float | None = None) -> View:
    """The view of ``booth``; ``guidance`` is the quality gate's live advice while scanning;
    ``now`` (the booth's clock) lets a one-off notice go after ``NOTICE_SHOWN_S``."""
    screen = screen_for(booth)
    banner = text(f"booth.banner_{'other' if screen is ScreenName.OFFICER_BUSY else screen}"
                  if screen is not ScreenName.GOODBYE else "booth.banner_goodbye")
    lines: list[Message] = []
    seated = booth.state in (BoothState.CLAIMED, BoothState.WAITING, BoothState.IN_SESSION,
                             BoothState.SCANNING)
    if screen is ScreenName.WELCOME:
        notice = _notice(booth, now)
        lines = [notice] if notice else []
        lines += [text("booth.welcome"), text("booth.booking_hint")]
    elif screen is ScreenName.WAITING and booth.parked:
        lines = [text("booth.parked")]  # no estimate: the officer comes back when they can
        if booth.number:
            lines.append(text("booth.claimed", number=booth.number))
    elif screen is ScreenName.WAITING:
        lines = [text("booth.waiting"), _wait_line(booth)]
        if booth.number:
            lines.append(text("booth.claimed", number=booth.number))
    elif screen is ScreenName.IN_SESSION:
        lines = [text("booth.in_session")]
    elif screen is ScreenName.OFFICER_BUSY:
        lines = [text("booth.officer_busy"),
                 text("booth.hand_raised" if booth.hand_raised else "booth.raise_hand")]
    elif screen is ScreenName.SCANNING:
        kind = booth.scanning_kind
        if kind is None:
            lines = [text("booth.uploading")]
        else:
            doc = booth.document(kind)
            lines = [guidance or bilingual("booth.scan_document", document=kind_name(kind))]
            if doc is not None and doc.status is DocStatus.RESCAN and doc.reason:
                lines.append(text("booth.rescan_reason", reason=doc.reason))
            if guidance is not None:
                lines.append(bilingual("booth.scan_document", document=kind_name(kind)))
        lines += [_doc_line(d) for d in booth.documents]
    elif screen in (ScreenName.VERDICT, ScreenName.GOODBYE) and booth.verdict is not None:
        verdict = booth.verdict
        if screen is ScreenName.VERDICT:
            first = text("booth.printing")
        elif booth.receipt_printed is False:
            first = text("booth.receipt_failed")
        else:
            first = text("booth.receipt_taken")
        lines = [first, text("booth.reference", reference=verdict.reference),
                 bilingual("booth.verdict", outcome=outcome_name(verdict.outcome))]
        if verdict.next_steps:
            lines.append(text("booth.next_steps", steps=verdict.next_steps))
        if screen is ScreenName.GOODBYE:
            lines.append(text("booth.goodbye"))
    elif screen is ScreenName.RECONNECTING:
        lines = [text("booth.reconnecting")]
        if booth.number:
            lines.append(text("booth.claimed", number=booth.number))
    elif screen is ScreenName.OUT_OF_SERVICE:
        lines = [text("booth.out_of_service")]
    away = seated and not booth.present and screen is not ScreenName.RECONNECTING
    if away:
        lines.insert(0, text("booth.come_back"))
    in_call = booth.state in (BoothState.IN_SESSION, BoothState.SCANNING)
    placement = None
    if screen is ScreenName.SCANNING and booth.scanning_kind is not None:
        placement = placement_of(booth.scanning_kind)
    return View(
        screen=screen,
        banner=banner,
        lines=tuple(lines),
        show_officer=in_call and screen is not ScreenName.RECONNECTING,
        show_self=seated,
        away=away,
        placement=placement,
    )


def placement_of(kind: str) -> tuple[float, bool]:
    """(side ratio, print runs sideways) of how ``kind`` is laid under the camera; a kind
    the data does not know is shown as an ID card."""
    k = documents.kinds().get(kind) or documents.kind(documents.DEFAULT_KIND)
    return round(k.aspect, 3), k.orientation is not k.placement
