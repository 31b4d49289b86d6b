"""Importing booked appointments: JSON and CSV, every bad row named precisely."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.queue import appointments
from signaling.queue.errors import ImportFailed
from signaling.queue.rules import DEFAULT_SERVICES

KW: dict[str, Any] = {"branch": "denpasar", "services": DEFAULT_SERVICES, "utc_offset_min": 420}
SLOT_0900_WIB = 1_594_778_400.0  # 2020-07-15 09:00 +07:00


def test_json_and_csv_give_the_same_bookings_and_skip_other_branches() -> None:
    rows = [
        {"code": "BK-0001", "service": "jht", "slot": "2020-07-15T09:00", "name": "Wayan"},
        {"code": "BK-0002", "service": "jp", "slot": "2020-07-15T02:00:00+00:00"},
        {"code": "BK-0003", "service": "jht", "slot": "2020-07-15T09:00", "branch": "langsa"},
    ]
    from_json = appointments.parse(json.dumps({"appointments": rows}), "json", **KW)
    csv_text = (
        "code,service,slot,branch,name\n"
        "BK-0001,jht,2020-07-15T09:00,,Wayan\n"
        "BK-0002,jp,2020-07-15T02:00:00+00:00,denpasar,\n"
        "BK-0003,jht,2020-07-15T09:00,langsa,\n"
    )
    from_csv = appointments.parse(csv_text.encode("utf-8-sig"), "csv", **KW)
    for result in (from_json, from_csv):
        assert [(a.code, a.service, a.slot, a.name) for a in result.appointments] == [
            ("BK-0001", "jht", SLOT_0900_WIB, "Wayan"),
            ("BK-0002", "jp", SLOT_0900_WIB, ""),
        ]
        assert result.other_branches == 1


def test_every_bad_row_is_reported_with_its_number_and_field() -> None:
    csv_text = (
        "code,service,slot\n"
        "BK-0001,jht,2020-07-15T09:00\n"
        "x,jht,2020-07-15T09:00\n"  # row 3: code too short
        "BK-0003,loan,2020-07-15T09:00\n"  # row 4: unknown service
        "BK-0004,jht,tomorrow\n"  # row 5: bad slot
        "BK-0001,jht,2020-07-15T10:00\n"  # row 6: duplicate code
        "BK-0006,jht\n"  # row 7: slot missing
        "BK-0007,jht,2020-07-15T09:00,extra\n"  # row 8: too many cells
    )
    with pytest.raises(ImportFailed) as info:
        appointments.parse(csv_text, "csv", **KW)
    assert [(row, field) for row, field, _ in info.value.rows] == [
        (3, "code"),
        (4, "service"),
        (5, "slot"),
        (6, "code"),
        (7, "slot"),
        (8, "row"),
    ]
    assert "already on row 2" in info.value.rows[3][2]
    assert "row 4: service: 'loan' unknown" in str(info.value)


@pytest.mark.parametrize(
    ("data", "fmt", "problem"),
    [
        (b"\xff\xfe\x00garbage", "csv", "not UTF-8"),
        ("{not json", "json", "not JSON"),
        ('{"appointments": 3}', "json", "expected a list"),
        ("[1]", "json", "expected an object"),
        ('[{"code": "BK-0001", "service": "jht", "slot": 9}]', "json", "expected text"),
        (
            '[{"code": "BK-0001", "service": "jht", "slot": "2020-07-15T09:00", "phone": "1"}]',
            "json",
            "unknown field",
        ),
        ("", "csv", "empty CSV"),
        ("code,service\n", "csv", "missing column(s): slot"),
        ("code,service,slot,phone\n", "csv", "unknown column(s): phone"),
        ("[]", "xml", "unknown format"),
    ],
)
def test_malformed_files_get_a_specific_error(data: str | bytes, fmt: str, problem: str) -> None:
    with pytest.raises(ImportFailed, match=problem.replace("(", r"\(").replace(")", r"\)")):
        appointments.parse(data, fmt, **KW)
