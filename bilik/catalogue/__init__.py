"""The one catalogue of participant-facing text: Bahasa Indonesia first, English beside it.

Entries live in one module per domain (``booth``, ``quality``, ``printer``,
``signaling``...) so that teams do not edit the same file, and are merged here
into one table. A key may be defined only once across the catalogue.

    >>> from bilik.catalogue import text
    >>> text("quality.tilted").id
    'Kartu terlalu miring'
"""

from __future__ import annotations

import importlib
import pkgutil
import string
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    """One piece of text in both languages, with optional ``{placeholders}``."""

    key: str
    id: str
    en: str

    def format(self, **values: Any) -> Message:
        return Message(self.key, self.id.format(**values), self.en.format(**values))

    def both(self, sep: str = " / ") -> str:
        """Indonesian first, then English: ``"Kartu terlalu miring / Card is tilted"``."""
        return f"{self.id}{sep}{self.en}"

    def placeholders(self) -> set[str]:
        names = set()
        for text_ in (self.id, self.en):
            names |= {f for _, f, _, _ in string.Formatter().parse(text_) if f}
        return names


_TABLE: dict[str, Message] = {}


def _load() -> None:
    for mod in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        entries: dict[str, tuple[str, str]] = getattr(module, "MESSAGES", {})
        for key, (id_text, en_text) in entries.items():
            full = f"{mod.name}.{key}"
            if full in _TABLE:  # pragma: no cover - caught by tests/bilik/test_catalogue.py
                raise RuntimeError(f"catalogue key defined twice: {full}")
            _TABLE[full] = Message(full, id_text, en_text)


def text(key: str, **values: Any) -> Message:
    """Look up ``domain.name``; raises ``KeyError`` naming the key when it is missing."""
    if not _TABLE:
        _load()
    try:
        message = _TABLE[key]
    except KeyError:
        raise KeyError(f"no catalogue entry {key!r}") from None
    return message.format(**values) if values else message


def all_messages() -> dict[str, Message]:
    if not _TABLE:
        _load()
    return dict(_TABLE)
