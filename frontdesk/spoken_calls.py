"""What the queue display says aloud for a call, in Bahasa Indonesia words: pure.

``call_phrase("A012", "3")`` is "Nomor antrean a dua belas, silakan menuju bilik tiga".
Numbers are read as Indonesian words (:func:`number_words`, "terbilang"), because a speech
engine left to itself reads "012" digit by digit in whatever language it guesses, and
"3" as "three" on a mis-set voice. A ticket number is read as queue machines in
Indonesian branches read it: the letter by its Indonesian name, then the number as a
whole (A012 -> "a dua belas", not "a nol satu dua"). The sentence around it is the
catalogue's (``queue.announce``, ``queue.announce_recall``), so it is worded in one place.
"""

from __future__ import annotations

import re

from bilik.catalogue import text

MAX_NUMBER = 999_999_999

_UNITS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan",
          "sembilan", "sepuluh", "sebelas")

# Letters by their Indonesian names, so that the Indonesian voice says "be", "ce", "er"...
LETTER_NAMES = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha",
    "I": "i", "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe",
    "Q": "ki", "R": "er", "S": "es", "T": "te", "U": "u", "V": "ve", "W": "we", "X": "eks",
    "Y": "ye", "Z": "zet",
}

_PARTS = re.compile(r"\d+|[A-Za-z]|[^\dA-Za-z]+")


def number_words(n: int) -> str:
    """``12`` -> ``"dua belas"``, ``1000`` -> ``"seribu"``; 0 to 999,999,999."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"a number to read must be a whole number 0..{MAX_NUMBER}, got {n!r}")
    if n < 12:
        return _UNITS[n]
    if n < 20:
        return f"{_UNITS[n - 10]} belas"
    if n < 100:
        return _join(f"{_UNITS[n // 10]} puluh", n % 10)
    if n < 200:
        return _join("seratus", n - 100)
    if n < 1000:
        return _join(f"{_UNITS[n // 100]} ratus", n % 100)
    if n < 2000:
        return _join("seribu", n - 1000)
    if n < 1_000_000:
        return _join(f"{number_words(n // 1000)} ribu", n % 1000)
    return _join(f"{number_words(n // 1_000_000)} juta", n % 1_000_000)


def _join(head: str, rest: int) -> str:
    return f"{head} {number_words(rest)}" if rest else head


def code_words(code: str) -> str:
    """A ticket number or booth name as words: letters by name, digit runs as numbers.

    ``"A012"`` -> ``"a dua belas"``; ``"3B"`` -> ``"tiga be"``; ``"000"`` -> ``"nol"``.
    Anything else (spaces, dashes) becomes a pause-free space.
    """
    if not code.strip():
        raise ValueError("nothing to read: the code is empty")
    words: list[str] = []
    for part in _PARTS.findall(code.strip()):
        if part.isdigit():
            if len(part) > len(str(MAX_NUMBER)):
                words.extend(_UNITS[int(d)] for d in part)  # too long for a number: digits
            else:
                words.append(number_words(int(part)))
        elif part.isalpha() and part.isascii():
            words.append(LETTER_NAMES[part.upper()])
    if not words:
        raise ValueError(f"nothing to read in {code!r}")
    return " ".join(words)


def call_phrase(number: str, booth: str, *, recall: bool = False) -> str:
    """The sentence spoken for a call (or a recall) of ``number`` to booth ``booth``.

    ``booth`` is the short name the displays use ("3" for "Bilik 3").
    """
    key = "queue.announce_recall" if recall else "queue.announce"
    return text(key, number=code_words(number), booth=code_words(booth)).id
