"""What OCR read from one document (plain data, and the pure parsing of Tesseract's lines
into fields).

    reading = parse_lines(kind, [("NIK : 3171234506780001", 91.0), ("Nama : SITI", 88.0)])
    reading.value("nik"), reading.fields["nik"].confidence
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from bilik.documents import DocumentKind
from bilik.documents.nik import InvalidNik, digits_of, parse_nik


@dataclass(frozen=True)
class Field:
    value: str
    confidence: float  # Tesseract's, 0-100, of the line it was read from


@dataclass(frozen=True)
class Person:
    nik: str
    name: str
    confidence: float


@dataclass(frozen=True)
class Reading:
    kind: str
    fields: dict[str, Field]
    people: list[Person] = field(default_factory=list)  # the family card's member rows
    problems: list[str] = field(default_factory=list)  # why the document does not pass

    @property
    def ok(self) -> bool:
        return not self.problems

    def value(self, name: str) -> str:
        f = self.fields.get(name)
        return "" if f is None else f.value

    def payload(self) -> dict[str, Any]:
        """What the booth stores with the document at the branch server
        (``POST /api/documents/{document}/reading``)."""
        read = [f for f in (self.fields.get("nik"), self.fields.get("name")) if f is not None]
        return {
            "nik": self.value("nik") if len(self.value("nik")) <= 16 else "",
            "name": self.value("name")[:80],
            "confidence": round(min((f.confidence for f in read), default=0.0), 1),
            "people": [{"nik": p.nik, "name": p.name[:80], "confidence": round(p.confidence, 1)}
                       for p in self.people[:12]],
            "problems": list(self.problems),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "verdict": "accept" if self.ok else "reject",
            "reasons": list(self.problems),
            "fields": {k: {"value": f.value, "confidence": round(f.confidence, 1)}
                       for k, f in self.fields.items()},
            "people": [{"nik": p.nik, "name": p.name, "confidence": round(p.confidence, 1)}
                       for p in self.people],
        }


_NIK_LABEL = re.compile(r"\bN[I1l|]K\b\s*[:;.]?\s*(?P<rest>.*)", re.IGNORECASE)
_NAME_LABEL = re.compile(
    # "Nama", also as Tesseract misreads its a's ("Namo", "Noma")
    r"^\s*N[aoe]m[aoe](?!\s*(?:Lengkap|Kepala))\b\s*(?:[:;.|!12iIl]\s*)?(?P<name>.+)$",
    re.IGNORECASE,
)
_NAME_VALUE = re.compile(r"[A-Z][A-Z.,' -]*[A-Z.]")
# A member row starts with its number (read as one to three characters: "3", "2,", "Fs)").
_ROW = re.compile(r"^\s*\S{1,3}\s+(?P<rest>[A-Za-z].*)$")


def _name(text: str) -> str:
    found = _NAME_VALUE.search(text)
    return "" if found is None else " ".join(found.group(0).split())


def _number_run(text: str) -> tuple[str, int]:
    """The first run of mostly-digit words in ``text`` giving at least 16 digits (look-alike
    letters inside those words read as digits), and where it starts; ``("", -1)`` if none.
    Words of letters (a name: "SITI", "TOSO") are never read as digits."""
    words = list(re.finditer(r"\S+", text))
    for i, first in enumerate(words):
        digits, j = "", i
        while j < len(words):
            w = words[j].group(0)
            if sum(c.isdigit() for c in w) < 0.6 * len(w):
                break
            digits += digits_of(w)
            j += 1
            if len(digits) >= 16:
                return digits, first.start()
    return "", -1


def _choose_nik(digits: str, today: dt.date) -> str:
    """16 of ``digits``: where a separator was read as a digit too (": 3171..." as
    "13171..."), the 16 in a row that make a valid NIK; else the first 16."""
    for start in range(len(digits) - 15):
        try:
            return parse_nik(digits[start : start + 16], today=today).digits
        except InvalidNik:
            continue
    return digits[:16]


def parse_lines(
    kind: DocumentKind, lines: list[tuple[str, float]], *, today: dt.date
) -> Reading:
    """Fields from OCR'd ``lines`` (text, confidence) of a document of ``kind``."""
    fields: dict[str, Field] = {}
    people: list[Person] = []
    for text, conf in lines:
        if "nik" in kind.fields and "nik" not in fields:
            m = _NIK_LABEL.search(text)
            if m and not kind.rows:
                run = _number_run(m.group("rest"))[0]
                digits = _choose_nik(run, today) if run else digits_of(m.group("rest"))
                fields["nik"] = Field(digits, conf)
                continue
        if "name" in kind.fields and "name" not in fields:
            m = _NAME_LABEL.match(text)
            if m and _name(m.group("name")):
                fields["name"] = Field(_name(m.group("name")), conf)
                continue
        if kind.rows:
            row = _ROW.match(text)  # "3 DEWI LESTARI 3171... PEREMPUAN ..."
            run, at = _number_run(row.group("rest")) if row else ("", -1)
            if row and run:
                nik = _choose_nik(run, today)
                name = _name(row.group("rest")[:at])
                if name:
                    people.append(Person(nik, name, conf))
    problems: list[str] = []
    if kind.rows and "nik" in kind.fields:
        if not people:
            problems.append("nik_unreadable: no member row with a 16-digit NIK")
        for p in people:
            try:
                parse_nik(p.nik, today=today)
            except InvalidNik as exc:
                problems.append(f"nik_invalid: {exc}")
        if people:
            fields.setdefault("nik", Field(people[0].nik, people[0].confidence))
            fields.setdefault("name", Field(people[0].name, people[0].confidence))
    elif "nik" in kind.fields:
        read = fields.get("nik")
        if read is None or not read.value:
            problems.append("nik_unreadable: no NIK line found")
        elif len(read.value) != 16:
            problems.append(f"nik_unreadable: read {len(read.value)} digits, not 16")
        else:
            try:
                parse_nik(read.value, today=today)
            except InvalidNik as exc:
                problems.append(f"nik_invalid: {exc}")
    if "name" in kind.fields and not fields.get("name"):
        problems.append("name_unreadable: no name line found")
    return Reading(kind.name, fields, people, problems)
