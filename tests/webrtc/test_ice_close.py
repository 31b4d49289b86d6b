"""A call closed while ICE is completing leaves no consent task behind (bilik.webrtc.iceclose).

Two aioice connections on loopback connect to each other; one is closed at the moment its check
list completes, before its ``connect`` wakes up. Without the guard, ``connect`` starts the
consent-freshness task on the closed connection and it outlives the call (the leak the test
suite's task check reported now and then when a booth was parked while its call came up).
"""

from __future__ import annotations

import asyncio
import contextlib

import aioice
import pytest

from bilik.webrtc import iceclose


async def _pair() -> tuple[aioice.Connection, aioice.Connection]:
    a = aioice.Connection(ice_controlling=True, components=1)
    b = aioice.Connection(ice_controlling=False, components=1)
    for conn in (a, b):
        await conn.gather_candidates()
    for near, far in ((a, b), (b, a)):
        for candidate in far.local_candidates:
            await near.add_remote_candidate(candidate)
        await near.add_remote_candidate(None)
        near.remote_username, near.remote_password = far.local_username, far.local_password
    return a, b


async def test_closing_as_the_check_list_completes_starts_no_consent_checks() -> None:
    iceclose.install()
    a, b = await _pair()
    assert all(c.host.startswith("127.") for c in a.local_candidates)  # loopback only
    connecting_a = asyncio.create_task(a.connect())
    connecting_b = asyncio.create_task(b.connect())
    try:
        # completed, and a.connect() not yet awake; aioice offers no event for it
        while not a._check_list_done:  # noqa: ASYNC110
            await asyncio.sleep(0)
        await a.close()
        with pytest.raises(ConnectionError, match="closed while it was connecting"):
            await connecting_a
        assert a._query_consent_task is None
    finally:
        await a.close()
        await b.close()
        with contextlib.suppress(ConnectionError):
            await connecting_b


async def test_a_connection_left_open_keeps_its_consent_checks() -> None:
    iceclose.install()
    a, b = await _pair()
    try:
        await asyncio.gather(a.connect(), b.connect())
        assert a._query_consent_task is not None and not a._query_consent_task.done()
    finally:
        await a.close()
        await b.close()
    assert a._query_consent_task is None or a._query_consent_task.done()
