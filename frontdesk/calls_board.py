"""The queue display's list of current calls: a pure class fed with Called and Cleared.

Newest first. A call for a number already on the board (a recall, or the ticket moved
to another booth) goes back to the top; ``Cleared`` takes a number off (only at the
booth it names, so that a late "moved" clear does not remove the new call). Calls also
expire after ``max_age_s``: the server does not replay current calls to a display that
reconnects, so a clear missed during an outage must not leave a stale call on screen
forever (docs/frontdesk.md).

What each output shows is a pure function of the board and whether the server is
reachable: :func:`pole_lines`, :func:`led_line`, :func:`tv_calls`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bilik.catalogue import text
from hardware.displays.calls import Call, call_lines, idle_lines, led_text
from hardware.displays.charset import fit
from signaling import protocol as p

MAX_CALLS = 16  # calls kept; the TV shows at most hardware.limits.TV_MAX_CALLS of them
MAX_AGE_S = 300.0  # a call older than this leaves the board (claim timeout x 2 + walking)

_BOOTH_LABEL = re.compile(r"^\s*bilik\s+(\S.*?)\s*$", re.IGNORECASE)


def booth_short(label: str) -> str:
    """``"Bilik 3"`` -> ``"3"``: the displays' own wording adds "Bilik"/"Booth" around it."""
    match = _BOOTH_LABEL.match(label)
    return match.group(1) if match else label.strip()


@dataclass(frozen=True)
class BoardCall:
    number: str  # "A001"
    booth: str  # device id, "booth-01"
    label: str  # what the server calls the booth, "Bilik 1"
    ticket: str
    attempt: int  # 0 first call, 1.. recalls
    at: float  # when it (last) went to the top, on the board's clock

    def call(self) -> Call:
        return Call(self.number, booth_short(self.label))


class CallsBoard:
    """Current calls, newest first; every method returns whether the board changed."""

    def __init__(self, *, max_calls: int = MAX_CALLS, max_age_s: float = MAX_AGE_S) -> None:
        if max_calls < 1 or max_age_s <= 0:
            raise ValueError(f"bad board limits: max_calls={max_calls} max_age_s={max_age_s}")
        self.max_calls = max_calls
        self.max_age_s = max_age_s
        self._calls: list[BoardCall] = []

    @property
    def calls(self) -> tuple[BoardCall, ...]:
        return tuple(self._calls)

    def called(self, *, number: str, booth: str, label: str, ticket: str = "",
               attempt: int = 0, now: float) -> bool:
        if not number.strip() or not (label.strip() or booth.strip()):
            raise ValueError(f"a call needs a number and a booth, got {number!r} -> {label!r}")
        entry = BoardCall(number, booth, label.strip() or booth, ticket, attempt, now)
        self._calls = [c for c in self._calls if c.number != number]
        self._calls.insert(0, entry)
        del self._calls[self.max_calls:]
        return True

    def cleared(self, *, number: str, booth: str = "") -> bool:
        keep = [c for c in self._calls if not (c.number == number and booth in ("", c.booth))]
        changed = len(keep) != len(self._calls)
        self._calls = keep
        return changed

    def expire(self, now: float) -> bool:
        keep = [c for c in self._calls if now - c.at < self.max_age_s]
        changed = len(keep) != len(self._calls)
        self._calls = keep
        return changed

    def apply(self, msg: p.Message, now: float) -> bool:
        """Feed a server message; messages other than Called and Cleared change nothing."""
        if isinstance(msg, p.Called):
            return self.called(number=msg.number, booth=msg.booth, label=msg.label,
                               ticket=msg.ticket, attempt=msg.attempt, now=now)
        if isinstance(msg, p.Cleared):
            return self.cleared(number=msg.number, booth=msg.booth)
        return False


def pole_lines(calls: tuple[BoardCall, ...], online: bool, width: int) -> tuple[str, str]:
    """Upper and lower line of the pole: the newest call, else idle, or offline."""
    if not online:
        message = text("hardware.tv_offline")
        return fit(message.id, width, "center"), fit(message.en, width, "center")
    if calls:
        return call_lines(calls[0].call(), width)
    return idle_lines(width)


def led_line(calls: tuple[BoardCall, ...], online: bool, width: int) -> str | None:
    """The LED counter's line (the newest call), or None for a cleared display."""
    if not online:
        return "-" * width
    return led_text(calls[0].call(), width) if calls else None


def tv_calls(calls: tuple[BoardCall, ...]) -> list[Call]:
    return [c.call() for c in calls]
