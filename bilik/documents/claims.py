"""What the officer checks for each claim, read from ``claims.toml``, keyed by the queue's
own service codes (``jht``, ``jp``, ``jkk``, ``jkm``).

    from bilik.documents import checklist, require_checklists
    require_checklists(["jht", "jp", "jkk", "jkm"])   # at start-up: a missing list is an error
    [item.document for item in checklist("jp")]       # the kinds the booth scans

There is no default list: a service without one is a :class:`MissingChecklist` error, so a
pensioner is never asked for a termination letter because the JHT list stood in for theirs.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bilik.documents.kinds import DocumentDataError, DocumentKind, kinds
from bilik.errors import BilikError


class MissingChecklist(BilikError, LookupError):
    """A service the queue offers has no checklist."""

    def __init__(self, services: list[str], known: list[str]) -> None:
        super().__init__(
            f"no checklist for service(s) {', '.join(services)}; checklists exist for "
            f"{', '.join(known)} (bilik/documents/claims.toml)"
        )
        self.services = services


@dataclass(frozen=True)
class ChecklistItem:
    key: str  # recorded with the decision
    id: str
    en: str
    document: str = ""  # the kind the booth scans for it; "" = checked without a scan
    when: tuple[str, str] | None = None  # only needed in this case (id, en)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "id": self.id, "en": self.en}
        if self.document:
            out["document"] = self.document
        if self.when:
            out["when"] = {"id": self.when[0], "en": self.when[1]}
        return out


_KEYS = {"key", "id", "en", "document", "when"}


def _item(where: str, entry: Any, known: dict[str, DocumentKind]) -> ChecklistItem:
    if not isinstance(entry, dict):
        raise DocumentDataError(f"{where}: expected a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise DocumentDataError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for field in ("key", "id", "en"):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise DocumentDataError(f"{where}.{field}: expected a non-empty text")
    document = entry.get("document", "")
    if document and document not in known:
        raise DocumentDataError(f"{where}.document: {document!r} is not a kind in kinds.toml")
    when = entry.get("when")
    if when is not None and not (
        isinstance(when, list) and len(when) == 2 and all(isinstance(w, str) for w in when)
    ):
        raise DocumentDataError(f"{where}.when: expected [indonesian, english]")
    pair = None if when is None else (when[0], when[1])
    return ChecklistItem(entry["key"], entry["id"], entry["en"], document, pair)


def parse_checklists(
    source: str, known: dict[str, DocumentKind]
) -> dict[str, tuple[ChecklistItem, ...]]:
    """Checklists from the TOML text of ``claims.toml``; every document must be a known kind,
    every item key unique within its list."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentDataError(f"claims: not valid TOML: {exc}") from None
    lists: dict[str, tuple[ChecklistItem, ...]] = {}
    for service, entries in data.items():
        if not isinstance(entries, list) or not entries:
            raise DocumentDataError(f"claims.{service}: expected a non-empty list of items")
        items = tuple(_item(f"claims.{service}[{i}]", e, known) for i, e in enumerate(entries))
        keys = [i.key for i in items]
        if len(set(keys)) != len(keys):
            raise DocumentDataError(f"claims.{service}: an item key is used twice")
        lists[service] = items
    return lists


@functools.cache
def checklists() -> dict[str, tuple[ChecklistItem, ...]]:
    """Every checklist of the packaged ``claims.toml``, by service code."""
    text = resources.files(__package__).joinpath("claims.toml").read_text("utf-8")
    return parse_checklists(text, kinds())


def require_checklists(services: Iterable[str]) -> None:
    """Raise :class:`MissingChecklist` naming every service in ``services`` without a list."""
    lists = checklists()
    missing = [s for s in services if s not in lists]
    if missing:
        raise MissingChecklist(missing, list(lists))


def checklist(service: str) -> tuple[ChecklistItem, ...]:
    """The checklist of ``service``; :class:`MissingChecklist` when there is none."""
    require_checklists([service])
    return checklists()[service]


def documents_to_scan(service: str) -> list[str]:
    """The kinds the booth asks for, in checklist order, once each, leaving out the items
    needed only in some cases (``when``) and those checked without a scan."""
    out: list[str] = []
    for item in checklist(service):
        if item.document and item.when is None and item.document not in out:
            out.append(item.document)
    return out


def as_json() -> dict[str, Any]:
    """Kinds and checklists, as the branch server serves them."""
    return {
        "kinds": {name: k.as_json() for name, k in kinds().items()},
        "checklists": {s: [i.as_json() for i in items] for s, items in checklists().items()},
    }
