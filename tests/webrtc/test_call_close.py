"""Closing a peer connection is bounded, even when the closer is cancelled meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from bilik.webrtc import connection, limits


class StubbornClose:
    """A connection whose close() takes one cancellation and carries on waiting (what
    aioice's close does when it is cancelled while awaiting its consent task)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.ended = asyncio.Event()
        self.cancels = 0

    async def close(self) -> None:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancels += 1
            await self.release.wait()  # swallowed: waits on
        self.ended.set()

    async def end(self) -> None:
        """Let the abandoned close finish, so the test leaves nothing running."""
        self.release.set()
        await asyncio.wait_for(self.ended.wait(), 30)


async def test_a_cancelled_closer_is_not_held_by_a_close_that_ignores_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(limits, "PEER_CLOSE_TIMEOUT_S", 0.2)
    pc = StubbornClose()
    closer = asyncio.ensure_future(connection.close_quietly(pc))  # type: ignore[arg-type]
    await asyncio.wait_for(pc.started.wait(), 30)
    closer.cancel()
    with (caplog.at_level(logging.WARNING, logger="bilik.webrtc.connection"),
          contextlib.suppress(asyncio.CancelledError)):
        await asyncio.wait_for(closer, 30)  # with asyncio.wait_for(pc.close()) it hung
    assert closer.cancelled()
    assert pc.cancels == 1
    assert any("ignored its cancellation" in r.getMessage() for r in caplog.records)
    await pc.end()


async def test_a_close_that_never_ends_is_given_up_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(limits, "PEER_CLOSE_TIMEOUT_S", 0.2)
    pc: Any = StubbornClose()
    with caplog.at_level(logging.WARNING, logger="bilik.webrtc.connection"):
        await asyncio.wait_for(connection.close_quietly(pc), 30)
    messages = [r.getMessage() for r in caplog.records]
    assert any("did not close within" in m for m in messages)
    await pc.end()
