"""A booking code is one shape everywhere: what the kiosk and the booth send as a check-in is
what the server accepts when bookings are imported (the agents once let through 1-3 character
codes and underscores that no booking could ever have)."""

from __future__ import annotations

import json

import pytest

from bilik.codes import CodeKind, kind_of
from signaling.queue import appointments
from signaling.queue.errors import ImportFailed

CANDIDATES = [
    "BK-2002", "bk7x", "A" * 32, "0000",  # bookings
    "A", "BK7", "BK_2002", "-BK1", "A" * 33, "BK 1", "BK-2002;", "",  # not bookings
]


def _server_accepts(code: str) -> bool:
    row = {"code": code, "service": "jht", "slot": "2024-05-02T09:00:00"}
    try:
        appointments.parse(json.dumps([row]), "json", branch="kc", services=["jht"],
                           utc_offset_min=420)
    except ImportFailed:
        return False
    return True


@pytest.mark.parametrize("code", CANDIDATES)
def test_the_agents_and_the_server_agree_on_what_a_booking_code_is(code: str) -> None:
    assert (kind_of(code) is CodeKind.BOOKING) == _server_accepts(code)


def test_codes_are_told_apart() -> None:
    assert kind_of(" BK-2002\r") is CodeKind.BOOKING
    assert kind_of("BILIK1:T:kc-01:20240101-A001:abc") is CodeKind.TICKET
    assert kind_of("BK_2002") is CodeKind.UNREADABLE
    assert kind_of("\x00\x9f") is CodeKind.UNREADABLE
