"""The NIK (Nomor Induk Kependudukan), the 16-digit national identity number, and what its
structure says (pure: no I/O).

    PP KK CC DDMMYY SSSS
    PP province, KK regency or city, CC district (each non-zero), DDMMYY birth date with 40
    added to the day for women, SSSS a serial number (non-zero).

    nik = parse_nik("3171234506780001", today=date(2026, 12, 7))
    nik.birth_date, nik.female      # date(1978, 6, 5), True

:func:`parse_nik` raises :class:`InvalidNik` (a ``ValueError``) naming the part that is
wrong, so that the booth can say why and the officer can see a forged or misread number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bilik.errors import BilikError

# Province codes (Kemendagri): Sumatra 11-19 and 21, Java 31-36, Bali and Nusa Tenggara
# 51-53, Kalimantan 61-65, Sulawesi 71-76, Maluku 81-82, Papua 91-97 (the 2022 provinces).
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63,
     64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97}
)
WOMEN_DAY_OFFSET = 40
YOUNGEST_HOLDER_YEARS = 10  # a two-digit year later than this many years ago is 19YY


class InvalidNik(BilikError, ValueError):
    """A NIK whose digits or structure cannot be right; the message says which part."""


@dataclass(frozen=True)
class Nik:
    digits: str
    province: int
    regency: int
    district: int
    birth_date: dt.date
    female: bool
    serial: int

    @property
    def region(self) -> str:
        return self.digits[:6]

    def age_on(self, day: dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


def parse_nik(text: str, *, today: dt.date) -> Nik:
    """The structure of ``text`` (16 digits, spaces allowed) or :class:`InvalidNik`."""
    digits = "".join(text.split())
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        raise InvalidNik(f"NIK {text!r}: expected 16 digits, got {len(digits)} characters")
    province, regency, district = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if province not in PROVINCES:
        raise InvalidNik(f"NIK {digits}: {digits[0:2]} is no province code")
    if regency == 0 or district == 0:
        raise InvalidNik(f"NIK {digits}: regency and district codes cannot be 00")
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    female = day > WOMEN_DAY_OFFSET
    if female:
        day -= WOMEN_DAY_OFFSET
    year = 2000 + yy if 2000 + yy <= today.year - YOUNGEST_HOLDER_YEARS else 1900 + yy
    try:
        birth = dt.date(year, month, day)
    except ValueError:
        raise InvalidNik(
            f"NIK {digits}: {digits[6:12]} is no birth date (day {digits[6:8]}, with 40 "
            f"added for women; month {digits[8:10]})"
        ) from None
    serial = int(digits[12:16])
    if serial == 0:
        raise InvalidNik(f"NIK {digits}: serial number 0000")
    return Nik(digits, province, regency, district, birth, female, serial)


# Characters Tesseract confuses with digits in a number field.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1",
                                   "|": "1", "i": "1", "Z": "2", "S": "5", "s": "5", "B": "8",
                                   "G": "6", "b": "6", "T": "7"})


def digits_of(text: str) -> str:
    """``text`` with look-alike letters read as the digits they stand for, spaces dropped."""
    return "".join(c for c in text.translate(_DIGIT_LOOKALIKES) if c.isdigit())
