"""The kinds of document a claim needs, read from ``kinds.toml``: their size, material,
orientation and the smallest print an officer must read on them.

    from bilik.documents import kind
    ktp = kind("ktp")            # DocumentKind(width_mm=85.6, height_mm=53.98, ...)
    ktp.long_mm, ktp.short_mm    # 85.6, 53.98

Pure: :func:`parse_kinds` turns TOML text into kinds or raises :class:`DocumentDataError`
naming the kind and field; :func:`kinds` reads the packaged file once.
"""

from __future__ import annotations

import enum
import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bilik.errors import BilikError

DEFAULT_KIND = "ktp"  # `bilik hw quality` and the gate judge an ID-1 card unless told


class DocumentDataError(BilikError, ValueError):
    """The document kinds or the checklists are not valid; the message says where."""


class UnknownDocumentKind(BilikError, KeyError):
    """A document kind that ``kinds.toml`` does not define."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown document kind {name!r}; known kinds: {', '.join(known)}")
        self.name = name

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


class Material(enum.Enum):
    CARD = "card"  # plastic, rigid, often laminated: glare comes from its surface
    PAPER = "paper"  # may curl, may be in a plastic sleeve


class Orientation(enum.Enum):
    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"


FIELDS = frozenset({"nik", "name"})  # what OCR knows how to read


@dataclass(frozen=True)
class DocumentKind:
    name: str
    id: str  # name in Bahasa Indonesia
    en: str
    width_mm: float  # along the lines of print
    height_mm: float
    material: Material
    orientation: Orientation  # how it is read
    placement: Orientation  # how it is laid under the camera
    smallest_print_mm: float  # cap height of the smallest print the officer must read
    fields: tuple[str, ...] = ()
    rows: bool = False  # several people listed (the family card's member table)

    @property
    def long_mm(self) -> float:
        return max(self.width_mm, self.height_mm)

    @property
    def short_mm(self) -> float:
        return min(self.width_mm, self.height_mm)

    @property
    def aspect(self) -> float:
        return self.long_mm / self.short_mm

    def px_per_mm_for(self, print_px: float) -> float:
        """Pixels per millimetre at which the smallest print is ``print_px`` pixels tall."""
        return print_px / self.smallest_print_mm

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "id": self.id,
            "en": self.en,
            "width_mm": self.width_mm,
            "height_mm": self.height_mm,
            "material": self.material.value,
            "orientation": self.orientation.value,
            "placement": self.placement.value,
            "smallest_print_mm": self.smallest_print_mm,
            "fields": list(self.fields),
            "rows": self.rows,
        }


def _number(where: str, entry: dict[str, Any], key: str, lo: float, hi: float) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DocumentDataError(f"{where}.{key}: expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise DocumentDataError(f"{where}.{key}: {value} is outside {lo}..{hi}")
    return float(value)


def _text(where: str, entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DocumentDataError(f"{where}.{key}: expected a non-empty text, got {value!r}")
    return value


def _choice(where: str, entry: dict[str, Any], key: str, enum_: type[enum.Enum]) -> Any:
    value = entry.get(key)
    try:
        return enum_(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum_)
        raise DocumentDataError(f"{where}.{key}: {value!r} is not one of {allowed}") from None


_KEYS = {
    "id", "en", "width_mm", "height_mm", "material", "orientation", "placement",
    "smallest_print_mm", "fields", "rows",
}


def _kind(name: str, entry: Any) -> DocumentKind:
    where = f"kinds.{name}"
    if not isinstance(entry, dict):
        raise DocumentDataError(f"{where}: expected a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise DocumentDataError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    width = _number(where, entry, "width_mm", 20, 600)
    height = _number(where, entry, "height_mm", 20, 600)
    orientation = _choice(where, entry, "orientation", Orientation)
    if (orientation is Orientation.LANDSCAPE) != (width >= height):
        raise DocumentDataError(
            f"{where}.orientation: {orientation.value} does not fit {width} x {height} mm"
        )
    fields = entry.get("fields", [])
    if not isinstance(fields, list) or not set(fields) <= FIELDS:
        raise DocumentDataError(f"{where}.fields: expected a list of {sorted(FIELDS)}")
    rows = entry.get("rows", False)
    if not isinstance(rows, bool):
        raise DocumentDataError(f"{where}.rows: expected true or false, got {rows!r}")
    return DocumentKind(
        name=name,
        id=_text(where, entry, "id"),
        en=_text(where, entry, "en"),
        width_mm=width,
        height_mm=height,
        material=_choice(where, entry, "material", Material),
        orientation=orientation,
        placement=_choice(where, entry, "placement", Orientation),
        smallest_print_mm=_number(where, entry, "smallest_print_mm", 0.5, 10),
        fields=tuple(fields),
        rows=rows,
    )


def parse_kinds(source: str) -> dict[str, DocumentKind]:
    """Kinds from the TOML text of ``kinds.toml`` (see its header for the fields)."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentDataError(f"kinds: not valid TOML: {exc}") from None
    if not data:
        raise DocumentDataError("kinds: no document kind defined")
    return {name: _kind(name, entry) for name, entry in data.items()}


@functools.cache
def kinds() -> dict[str, DocumentKind]:
    """Every kind of the packaged ``kinds.toml``, by name, in file order."""
    return parse_kinds(resources.files(__package__).joinpath("kinds.toml").read_text("utf-8"))


def kind(name: str) -> DocumentKind:
    """The kind called ``name``; :class:`UnknownDocumentKind` (a ``KeyError``) if none."""
    known = kinds()
    try:
        return known[name]
    except KeyError:
        raise UnknownDocumentKind(name, list(known)) from None
