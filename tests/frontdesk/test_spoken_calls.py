"""Calls read aloud in Indonesian words: the pure part (no sound made here)."""

from __future__ import annotations

import pytest

from frontdesk.spoken_calls import call_phrase, code_words, number_words


def test_numbers_are_read_as_indonesian_words() -> None:
    cases = {
        0: "nol", 1: "satu", 7: "tujuh", 10: "sepuluh", 11: "sebelas", 12: "dua belas",
        19: "sembilan belas", 20: "dua puluh", 21: "dua puluh satu", 99: "sembilan puluh sembilan",
        100: "seratus", 101: "seratus satu", 111: "seratus sebelas", 250: "dua ratus lima puluh",
        999: "sembilan ratus sembilan puluh sembilan", 1000: "seribu", 1001: "seribu satu",
        1100: "seribu seratus", 2024: "dua ribu dua puluh empat",
        12345: "dua belas ribu tiga ratus empat puluh lima", 100000: "seratus ribu",
        1000000: "satu juta", 2500000: "dua juta lima ratus ribu",
    }
    assert {n: number_words(n) for n in cases} == cases
    for bad in (-1, 1_000_000_000, 1.5, True, "3"):
        with pytest.raises(ValueError, match="whole number"):
            number_words(bad)  # type: ignore[arg-type]


def test_ticket_numbers_and_booths_are_read_letter_by_name_then_the_number() -> None:
    assert code_words("A012") == "a dua belas"
    assert code_words("R001") == "er satu"
    assert code_words("B100") == "be seratus"
    assert code_words("3") == "tiga"
    assert code_words("3B") == "tiga be"
    assert code_words("000") == "nol"
    assert code_words("C-2") == "ce dua"
    assert code_words("12345678901") == (
        "satu dua tiga empat lima enam tujuh delapan sembilan nol satu")
    for bad in ("", "  ", "--"):
        with pytest.raises(ValueError, match="nothing to read"):
            code_words(bad)


def test_the_call_and_the_recall_sentences() -> None:
    assert call_phrase("A012", "3") == "Nomor antrean a dua belas, silakan menuju bilik tiga"
    assert call_phrase("R101", "12", recall=True) == (
        "Panggilan ulang. Nomor antrean er seratus satu, silakan menuju bilik dua belas")
