"""Text for the printer's code page: what can be printed is kept, the rest is made plain.

Indonesian needs only Latin letters, but names and pasted text bring typographic
quotes, dashes and letters with marks that a thermal printer's code page lacks.
Rather than let python-escpos print ``?`` for them, we map punctuation to its ASCII
twin and strip marks the code page cannot show ("Nguyễn" -> "Nguyen"), so a
participant's name stays readable.
"""

from __future__ import annotations

import unicodedata

from hardware.printing.limits import CODE_PAGE

_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u2026": "...", "\u00a0": " ", "\u2022": "*", "\t": " ",
    }
)  # fmt: skip


def _codec(code_page: str) -> str:
    return code_page.lower()


def printable(text: str, code_page: str = CODE_PAGE) -> str:
    """Return ``text`` with every character the code page can print; others made plain or ``?``."""
    codec = _codec(code_page)
    out = []
    for char in text.translate(_PUNCTUATION):
        if unicodedata.category(char) in ("Cc", "Cf") and char != "\n":
            continue  # control and format characters would be read as printer commands
        if _encodable(char, codec):
            out.append(char)
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(plain if plain and all(_encodable(c, codec) for c in plain) else "?")
    return "".join(out)


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True
