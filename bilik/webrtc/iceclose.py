"""No consent checks after an ICE connection is closed (a race in aioice's ``connect``).

aioice's ``Connection.connect`` waits for its check list to complete, then starts the consent
freshness task (RFC 7675). When ``close()`` runs after the check list completed but before
``connect`` woke up (a booth parked or a call ended while it was still coming up), ``close``
finds no consent task to stop, and ``connect`` then starts one on a closed connection: a task
that wakes every five seconds until it gives up, outliving the peer connection.

:func:`install` wraps ``connect`` once per process: when the connection was closed meanwhile,
the task it just started is cancelled and ``connect`` fails as a closed connection should
(``ConnectionError``). :mod:`bilik.webrtc.connection` installs it, so every peer connection the
booth and the hub build has it. ``tests/webrtc/test_ice_close.py`` reproduces the race.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import aioice.ice

_Connect = Callable[[aioice.ice.Connection], Awaitable[None]]
_ORIGINAL: _Connect = aioice.ice.Connection.connect
_MARK = "_bilik_close_guard"


async def _connect(self: aioice.ice.Connection) -> None:
    await _ORIGINAL(self)
    if getattr(self, "_closing", False):
        task: asyncio.Task[Any] | None = getattr(self, "_query_consent_task", None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._query_consent_task = None
        raise ConnectionError("ICE connection closed while it was connecting")


def install() -> None:
    """Wrap aioice's ``Connection.connect`` (once; later calls do nothing)."""
    if getattr(aioice.ice.Connection.connect, _MARK, False):
        return
    setattr(_connect, _MARK, True)
    aioice.ice.Connection.connect = _connect  # type: ignore[method-assign]
