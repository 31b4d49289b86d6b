"""The claim data of a decision: every kind of bad input gets its own message in both
languages; good input is recorded in one form (signaling/claimdata.py, pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from signaling.claimdata import ClaimData, ClaimDataError, check_claim

TODAY = dt.date(2026, 12, 7)
GOOD = {"nik": "3171 2345 0678 0001", "name": "  Siti   Rahayu ", "bank": "BRI",
        "account": "0123-4567 890"}


def test_good_data_is_recorded_in_one_form() -> None:
    assert check_claim(GOOD, required=True, today=TODAY) == ClaimData(
        nik="3171234506780001", name="Siti Rahayu", bank="BRI", account="01234567890")
    # Another outcome than an approval records what was given.
    assert check_claim({"nik": "3171234506780001"}, required=False, today=TODAY).as_json() == {
        "nik": "3171234506780001"}
    assert check_claim({}, required=False, today=TODAY).as_json() == {}


@pytest.mark.parametrize(("change", "indonesian", "english"), [
    ({"nik": ""}, "Data klaim belum lengkap: nik", "The claim data is incomplete: nik"),
    ({"bank": " ", "account": ""}, "belum lengkap: bank, account", "incomplete: bank, account"),
    ({"nik": "317123450678000"}, "NIK tidak valid", "expected 16 digits"),
    ({"nik": "9971234506780001"}, "NIK tidak valid", "no province code"),
    ({"nik": "3171233206780001"}, "NIK tidak valid", "no birth date"),
    ({"nik": "3171234506780000"}, "NIK tidak valid", "serial number 0000"),
    ({"nik": "31712345067800O1"}, "NIK tidak valid", "expected 16 digits"),
    ({"name": "S"}, "Nama harus 2 sampai 80 huruf", "The name must be 2 to 80 letters"),
    ({"name": "Siti 2"}, "Nama harus", "The name must be"),
    ({"name": "x" * 81}, "Nama harus", "The name must be"),
    ({"bank": "B"}, "Nama bank harus", "The bank's name must be 2 to 64 characters"),
    ({"account": "12345"}, "Nomor rekening harus 6 sampai 20 angka", "6 to 20 digits"),
    ({"account": "1" * 21}, "Nomor rekening harus", "6 to 20 digits"),
    ({"account": "12345a789"}, "Nomor rekening harus", "6 to 20 digits"),
    ({"account": "١٢٣٤٥٦٧٨"}, "Nomor rekening harus", "6 to 20 digits"),  # not ASCII digits
    ({"iban": "x"}, "Data klaim tidak dikenal: iban", "Unknown claim data: iban"),
])
def test_each_kind_of_bad_data_is_named_in_both_languages(
    change: dict[str, str], indonesian: str, english: str,
) -> None:
    with pytest.raises(ClaimDataError) as refused:
        check_claim({**GOOD, **change}, required=True, today=TODAY)
    both = refused.value.message.both()
    assert indonesian in both and english in both
    assert both.index(indonesian) < both.index(english)  # Bahasa Indonesia first
