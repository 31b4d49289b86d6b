"""Safe text for 8-bit display character tables.

Displays have one 8-bit code page (cp437 by default); Indonesian is plain Latin, but
names, pasted text and typographic punctuation bring characters a display lacks. Each
character becomes exactly one printable byte, so that a 20-column line stays 20 columns:
typographic marks get their ASCII look-alike, accented letters lose the accent when the
code page lacks them, and anything else (including control bytes, which a display would
obey as commands) becomes ``?``.
"""

from __future__ import annotations

import codecs
import unicodedata

from hardware.errors import DisplayError

REPLACEMENT = "?"

# One character each, so that widths computed on the input hold on the display.
_LOOKALIKES = {
    "\u2192": ">",  # →
    "\u2190": "<",  # ←
    "\u2013": "-",  # –
    "\u2014": "-",  # —
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",
    "\u2022": "*",
    "\u00b7": ".",
}


def check_codepage(codepage: str) -> str:
    """Return the canonical codec name, or raise if it is not an 8-bit character table."""
    try:
        info = codecs.lookup(codepage)
    except LookupError:
        raise DisplayError(f"unknown display code page {codepage!r}") from None
    if len("A\u00e9".encode(info.name, errors="replace")) != 2:
        raise DisplayError(f"display code page {codepage!r} is not an 8-bit character table")
    return info.name


def _encodable(ch: str, codepage: str) -> bool:
    try:
        data = ch.encode(codepage)
    except UnicodeEncodeError:
        return False
    return len(data) == 1 and data[0] >= 0x20 and data[0] != 0x7F


def safe_text(text: str, codepage: str) -> str:
    """Map ``text`` to characters the code page shows, one display cell per character."""
    out = []
    for ch in text:
        ch = _LOOKALIKES.get(ch, ch)
        if _encodable(ch, codepage):
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if len(base) == 1 and _encodable(base, codepage) else REPLACEMENT)
    return "".join(out)


def encode(text: str, codepage: str) -> bytes:
    """Encode ``text`` for the display: one printable byte per character."""
    return safe_text(text, codepage).encode(codepage)


def fit(text: str, width: int, align: str = "left") -> str:
    """Cut or pad ``text`` to exactly ``width`` cells."""
    text = text[:width]
    if align == "center":
        return text.center(width)
    if align == "right":
        return text.rjust(width)
    return text.ljust(width)
