"""The NIK's structure: region, birth date (40 added to the day for women), serial."""

from __future__ import annotations

import datetime as dt

import pytest

from bilik.documents.nik import InvalidNik, digits_of, parse_nik

TODAY = dt.date(2026, 12, 7)


def test_a_mans_nik() -> None:
    nik = parse_nik("3171 2312 0375 0002", today=TODAY)
    assert (nik.province, nik.regency, nik.district) == (31, 71, 23)
    assert nik.birth_date == dt.date(1975, 3, 12) and not nik.female
    assert nik.serial == 2 and nik.region == "317123"
    assert nik.age_on(TODAY) == 51


def test_a_womans_nik_has_40_added_to_the_day() -> None:
    nik = parse_nik("3171234506780001", today=TODAY)
    assert nik.female and nik.birth_date == dt.date(1978, 6, 5)


def test_two_digit_years_of_young_holders_are_this_century() -> None:
    assert parse_nik("3171235010050003", today=TODAY).birth_date == dt.date(2005, 10, 10)
    assert parse_nik("3171231010200003", today=TODAY).birth_date == dt.date(1920, 10, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("317123450678000", "expected 16 digits, got 15"),
        ("31712345067800012", "expected 16 digits, got 17"),
        ("3171234506780O01", "expected 16 digits"),
        ("9971234506780001", "99 is no province code"),
        ("3100234506780001", "regency and district codes cannot be 00"),
        ("3171233206780001", "no birth date"),  # day 32
        ("3171237206780001", "no birth date"),  # day 72 - 40 = 32
        ("3171231513780001", "no birth date"),  # month 13
        ("3171234506780000", "serial number 0000"),
    ],
)
def test_a_wrong_structure_is_named(text: str, message: str) -> None:
    with pytest.raises(InvalidNik, match=message):
        parse_nik(text, today=TODAY)


def test_look_alike_letters_are_read_as_digits() -> None:
    assert digits_of("3I7l 23O5 O6B8 OOS1") == "3171230506880051"
