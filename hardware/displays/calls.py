"""What a queue display says for a call, fitted to its width, in both languages."""

from __future__ import annotations

from dataclasses import dataclass

from bilik.catalogue import text
from hardware.displays.charset import fit

# Tried in order; the first whose Indonesian and English both fit the width wins.
_CALL_FORMS = ("hardware.call", "hardware.call_short")


@dataclass(frozen=True)
class Call:
    """A ticket called to a booth: ``Call("A012", "3")`` reads "A012 ke Bilik 3"."""

    ticket: str
    booth: str

    def __post_init__(self) -> None:
        if not self.ticket.strip() or not self.booth.strip():
            raise ValueError(f"a call needs a ticket and a booth, got {self!r}")


def call_lines(call: Call, width: int) -> tuple[str, str]:
    """(Indonesian, English) lines for ``call``, each exactly ``width`` cells.

    Falls back to shorter wordings, and as a last resort to ``A012>3``, so that the
    ticket number and the booth are never cut off while words around them still fit.
    """
    for key in _CALL_FORMS:
        message = text(key, ticket=call.ticket, booth=call.booth)
        if len(message.id) <= width and len(message.en) <= width:
            return fit(message.id, width), fit(message.en, width)
    bare = fit(f"{call.ticket}>{call.booth}", width)
    return bare, bare


def idle_lines(width: int) -> tuple[str, str]:
    message = text("hardware.idle")
    return fit(message.id, width, "center"), fit(message.en, width, "center")


def led_text(call: Call, width: int) -> str:
    """The LED counter line: ticket on the left, booth on the right (``A012   3``)."""
    if len(call.ticket) + 1 + len(call.booth) > width:
        return fit(call.ticket, width)
    return call.ticket + call.booth.rjust(width - len(call.ticket))
