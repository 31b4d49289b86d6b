"""One authenticated device socket, as the branch server holds it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from signaling import limits, tokens
from signaling.protocol import Role
from signaling.ratelimit import TokenBucket, WindowCounter


@dataclass
class Connection:
    """One authenticated device socket."""

    ws: web.WebSocketResponse
    grant: tokens.Grant
    session: str
    bucket: TokenBucket
    bad: WindowCounter
    dropped: int = 0
    rate_warned: bool = False
    closing: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    # Frames read and admitted, processed in order by the connection's worker; None ends it.
    inbox: asyncio.Queue[str | bytes | None] = field(
        default_factory=lambda: asyncio.Queue(limits.MAX_INBOX))
    # Bytes waiting in the inbox: past MAX_INBOX_BYTES the reader waits for the worker, so
    # one connection holds at most that much (256 frames of 256 KiB would be 64 MiB).
    inbox_bytes: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def device_id(self) -> str:
        return self.grant.device_id

    @property
    def role(self) -> Role:
        return self.grant.role


@dataclass(frozen=True)
class Joined:
    """A connection just registered for its identity, before its welcome."""

    conn: Connection
    old: Connection | None  # the connection of the same identity it replaces
    resumed: bool
    hello_id: str
