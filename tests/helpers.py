"""Helpers every test package shares: waiting for a condition, and a branch server run in
the test's own event loop (the real server, on an ephemeral port on 127.0.0.1).

``until`` (async) and ``wait_for`` (blocking, for tests that drive processes or threads)
poll a condition that a person would notice, never a sleep standing in for one; both fail
naming what they waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer

from signaling import tokens
from signaling.app import make_app
from signaling.config import ServerConfig
from signaling.server import SERVER_KEY, BranchServer

T = TypeVar("T")

WAIT_S = 60.0  # generous: the machine is shared; only something that never happens waits this
TOKEN_TTL_S = 3600.0


async def until(check: Callable[[], Any | Awaitable[Any]], what: str, timeout: float = WAIT_S,
                *, interval: float = 0.05) -> Any:
    """Poll ``check`` (a function, or a coroutine function) until it is truthy; its value.
    Fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


def wait_for(check: Callable[[], T | None], what: str, timeout: float = WAIT_S, *,
             interval: float = 0.2, dead: Callable[[], Mapping[str, int]] | None = None) -> T:
    """Blocking :func:`until`; ``dead`` names processes that exited (then waiting stops)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if dead is not None and dead():
            raise AssertionError(f"while waiting for {what}: process(es) exited: {dead()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class ServerBranch:
    """A branch server in this event loop: ``start`` (again on the same port after ``stop``:
    a restart), its URLs, and tokens for any device. Test packages add their devices."""

    def __init__(self, data_dir: Path, config: ServerConfig | None = None,
                 **app_options: Any) -> None:
        self.data_dir = data_dir
        self.config = config or ServerConfig(data_dir=data_dir, heartbeat_s=1.0)
        self.app_options = app_options  # more for make_app (queue_rules...)
        self.server: TestServer | None = None
        self.port = 0

    def app(self) -> web.Application:
        """The server's application; a test package may hook into it here."""
        return make_app(self.config, **self.app_options)

    async def start(self) -> None:
        self.server = TestServer(self.app(), host="127.0.0.1", port=self.port or None)
        await self.server.start_server()
        self.port = int(self.server.port or 0)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None

    @property
    def branch(self) -> BranchServer:
        assert self.server is not None, "the branch server is not running"
        return self.server.app[SERVER_KEY]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, device: str, role: str) -> str:
        secret = tokens.load_or_create_secret(self.data_dir)
        return tokens.issue(secret, device, role, now=time.time(), ttl_s=TOKEN_TTL_S)
