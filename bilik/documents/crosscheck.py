"""Cross-checks between the documents of one claim (pure): the NIK and names read from
each, compared with each other and with what the claim needs. Used by the booth (on its
OCR readings) and the branch server (on the readings it stores, for the console).

    flags = mismatches({"ktp": ktp_reading, "kk": kk_reading, ...}, service="jp", today=...)
    # [Mismatch(NIK_NOT_ON_KK, "the KTP's NIK 3171... is not on the family card"), ...]

A reading is anything with ``value("nik")``, ``value("name")`` and ``people`` (rows with
``nik`` and ``name``): :class:`hardware.ocr.Reading`, or the server's stored rows.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bilik.documents.nik import InvalidNik, parse_nik


class Row(Protocol):
    @property
    def nik(self) -> str: ...

    @property
    def name(self) -> str: ...


class Reading(Protocol):
    @property
    def people(self) -> Sequence[Row]: ...

    def value(self, name: str) -> str: ...

PENSION_AGE_FIRST = 56  # PP 45/2015: 56 years from 2015...
PENSION_AGE_STEP_YEARS = 3  # ...one more every three years from 2019...
PENSION_AGE_MAX = 65  # ...up to 65


class MismatchKind(enum.Enum):
    NIK_NOT_ON_KK = "nik_not_on_kk"
    NIK_DIFFERS = "nik_differs"
    NAME_DIFFERS = "name_differs"
    TOO_YOUNG_FOR_PENSION = "too_young_for_pension"


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "detail": self.detail}


def pension_age(year: int) -> int:
    """The pension age in ``year`` (56 until 2018, then one more every three years)."""
    return min(PENSION_AGE_MAX, PENSION_AGE_FIRST + max(0, (year - 2016) // PENSION_AGE_STEP_YEARS))


def same_name(a: str, b: str) -> bool:
    """Names compared as an officer would: case, punctuation and spacing do not count."""

    def norm(s: str) -> str:
        return " ".join(re.sub(r"[^A-Z ]", " ", s.upper()).split())

    return norm(a) == norm(b)


def mismatches(readings: Mapping[str, Reading], *, service: str, today: dt.date) -> list[Mismatch]:
    """What does not fit between the documents read (kinds missing or unread are skipped)."""
    out: list[Mismatch] = []
    ktp = readings.get("ktp")
    ktp_nik = ktp.value("nik") if ktp else ""
    ktp_name = ktp.value("name") if ktp else ""
    kk = readings.get("kk")
    if ktp_nik and kk and kk.people and ktp_nik not in {p.nik for p in kk.people}:
        out.append(Mismatch(MismatchKind.NIK_NOT_ON_KK,
                            f"the KTP's NIK {ktp_nik} is not on the family card"))
    for kind, reading in readings.items():
        if kind == "ktp":
            continue
        nik, name = reading.value("nik"), reading.value("name")
        if ktp_nik and nik and not reading.people and nik != ktp_nik:
            out.append(Mismatch(MismatchKind.NIK_DIFFERS,
                                f"the {kind} has NIK {nik}, the KTP {ktp_nik}"))
        if ktp_name and name and not reading.people and not same_name(name, ktp_name):
            out.append(Mismatch(MismatchKind.NAME_DIFFERS,
                                f"the {kind} has the name {name!r}, the KTP {ktp_name!r}"))
    if service == "jp" and ktp_nik:
        try:
            holder = parse_nik(ktp_nik, today=today)
        except InvalidNik:
            return out
        age, needed = holder.age_on(today), pension_age(today.year)
        if age < needed:
            out.append(Mismatch(
                MismatchKind.TOO_YOUNG_FOR_PENSION,
                f"born {holder.birth_date} (from the NIK): {age} years old, the pension age in "
                f"{today.year} is {needed}"))
    return out
