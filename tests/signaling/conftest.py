"""A real branch server on an ephemeral port, and fake devices speaking raw JSON to it.

The devices are deliberately not :class:`signaling.client.SignalingClient`: tests of the
server must be able to send anything at all (bad JSON, wrong fields, floods) and to
misbehave at the socket level (stop answering pings), which a well-behaved client cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling import tokens
from signaling.app import make_app
from signaling.config import ServerConfig
from signaling.server import SERVER_KEY, BranchServer
from signaling.store import DB_FILE
from tests.helpers import until

REPLY_S = 10.0  # generous: the machine is shared; only a missing reply makes this wait
TABLES = ("devices", "pairings", "audit")


class Device:
    """One raw WebSocket to the server, with helpers to send dicts and await replies.

    A reader task drains the socket into a queue and answers the server's pings by
    hand (the socket is opened with ``autoping=False``) until :meth:`mute` is called:
    a muted device keeps its TCP connection but stops answering, like a hung booth PC.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, device_id: str) -> None:
        self.ws = ws
        self.device_id = device_id
        self.welcome: dict[str, Any] = {}
        self.close_reason = ""
        self.close_code: int | None = None
        self.muted = False
        self._n = 0
        self._inbox: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(
            self._read(), name=f"test-device-{device_id}"
        )

    async def _read(self) -> None:
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.PING:
                if not self.muted:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await self.ws.pong(msg.data)
                continue
            if msg.type is aiohttp.WSMsgType.PONG:
                continue
            self._inbox.put_nowait(msg)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                return

    def mute(self) -> None:
        """Stop answering pings (the socket stays open)."""
        self.muted = True

    def next_id(self) -> str:
        self._n += 1
        return f"{self.device_id}-{self._n}"

    async def send(self, msg: dict[str, Any] | str) -> str | None:
        """Send a message (a dict gets ``v`` and ``id`` filled in unless present)."""
        if isinstance(msg, str):
            await self.ws.send_str(msg)
            return None
        msg = {"v": 1, "id": self.next_id(), **msg}
        await self.ws.send_str(json.dumps(msg))
        return str(msg["id"])

    async def _next(self, timeout: float) -> aiohttp.WSMessage:
        try:
            return await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.device_id}: nothing received within {timeout:.1f} s"
            ) from None

    async def recv(self, timeout: float = REPLY_S) -> dict[str, Any]:
        raw = await self._next(timeout)
        if raw.type is not aiohttp.WSMsgType.TEXT:
            if raw.type is aiohttp.WSMsgType.CLOSE:
                self.close_code, self.close_reason = int(raw.data), str(raw.extra or "")
            raise AssertionError(
                f"{self.device_id}: expected a message, got {raw.type.name} "
                f"({raw.data!r}, {raw.extra!r})"
            )
        reply: dict[str, Any] = json.loads(raw.data)
        return reply

    async def expect(self, type_: str, timeout: float = REPLY_S, **fields: Any) -> dict[str, Any]:
        """The next message of ``type_``, skipping others of no interest (e.g. a late Ok)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - time.monotonic()))
            if msg["type"] == type_ and all(msg.get(k) == v for k, v in fields.items()):
                return msg

    async def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Send and return the reply naming it (``ok`` or ``error``)."""
        sent = await self.send(msg)
        deadline = time.monotonic() + REPLY_S
        while True:
            reply = await self.recv(max(0.01, deadline - time.monotonic()))
            if reply.get("ref") == sent and reply["type"] in ("ok", "error"):
                return reply

    async def closed(self, timeout: float = REPLY_S) -> int | None:
        """Read until the server closes this socket; return the close code it sent.

        The reason the server gave is kept in ``close_reason``. (The frame's code is
        returned because ``ws.close_code`` may be overwritten by aiohttp's own reply.)
        """
        deadline = time.monotonic() + timeout
        while self.close_code is None:
            raw = await self._next(max(0.01, deadline - time.monotonic()))
            if raw.type is aiohttp.WSMsgType.CLOSE:
                self.close_code, self.close_reason = int(raw.data), str(raw.extra or "")
            elif raw.type is not aiohttp.WSMsgType.TEXT:
                return self.ws.close_code
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        await self.stop_reading()

    async def stop_reading(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Branch:
    """A started branch server (aiohttp TestServer around make_app) and an HTTP session."""

    def __init__(self, config: ServerConfig, http: aiohttp.ClientSession) -> None:
        self.config = config
        self.http = http
        self.app = make_app(config)
        self.server: BranchServer = self.app[SERVER_KEY]
        self.test_server = TestServer(self.app, host="127.0.0.1", port=config.port or None)
        self.devices: list[Device] = []

    async def start(self) -> Branch:
        await self.test_server.start_server()
        return self

    async def stop(self) -> None:
        for device in self.devices:
            await device.close()
        await self.test_server.close()

    @property
    def port(self) -> int:
        port = self.test_server.port
        assert port is not None
        return port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def token(self, role: str, device_id: str, *, ttl_s: float = 3600.0,
              now: float | None = None) -> str:
        secret = tokens.load_or_create_secret(self.config.data_dir)
        return tokens.issue(secret, device_id, role, now=time.time() if now is None else now,
                            ttl_s=ttl_s)

    async def open(self, **ws_kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(self.ws_url, autoping=False, **ws_kwargs)
        return ws

    async def connect(self, device_id: str, role: str, *, token: str | None = None,
                      resume: bool = False, **ws_kwargs: Any) -> Device:
        """Open a socket and say hello; returns the device after its Welcome."""
        device = Device(await self.open(**ws_kwargs), device_id)
        self.devices.append(device)
        await device.send({"type": "hello", "token": token or self.token(role, device_id),
                           "resume": resume})
        welcome = await device.recv()
        assert welcome["type"] == "welcome", welcome
        device.welcome = welcome
        return device

    async def raw(self, **ws_kwargs: Any) -> Device:
        """An unauthenticated socket (no hello sent)."""
        device = Device(await self.open(**ws_kwargs), "anon")
        self.devices.append(device)
        return device

    async def pair(self, booth: str = "booth-01", hub: str = "hub-01",
                   slots: int = 1) -> tuple[Device, Device, str]:
        """Connect a hub with ``slots`` and a booth asking for service; return both and the id."""
        h = await self.connect(hub, "hub")
        assert (await h.request({"type": "capacity", "slots": slots}))["type"] == "ok"
        b = await self.connect(booth, "booth")
        assert (await b.request({"type": "service_request"}))["type"] == "ok"
        pair_b = await b.expect("pair")
        pair_h = await h.expect("pair", booth=booth)
        assert pair_b["pairing"] == pair_h["pairing"]
        return b, h, str(pair_b["pairing"])

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.config.data_dir)

    async def settled(self) -> None:
        """Wait until the store worker has done everything asked of it so far."""
        db = self.server.db
        await db.call(lambda: None)


def snapshot(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a separate SQLite connection."""
    with sqlite3.connect(data_dir / DB_FILE) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}


async def wait_until(check: Callable[[], Any | Awaitable[Any]], what: str,
                     timeout: float = REPLY_S) -> Any:
    """:func:`tests.helpers.until`, with the signaling tests' shorter timeout."""
    return await until(check, what, timeout, interval=0.02)


BranchFactory = Callable[..., Awaitable[Branch]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def start_branch(tmp_path: Path, http: aiohttp.ClientSession
                       ) -> AsyncIterator[BranchFactory]:
    """``await start_branch(**config)``: a server on ``tmp_path/server`` with those settings.

    Call it again after ``await branch.stop()`` to restart on the same data directory.
    """
    started: list[Branch] = []

    async def factory(**settings: Any) -> Branch:
        settings.setdefault("data_dir", tmp_path / "server")
        settings.setdefault("port", 0)
        branch = Branch(dataclasses.replace(ServerConfig(), **settings), http)
        started.append(branch)
        return await branch.start()

    yield factory
    for branch in started:
        await branch.stop()


@pytest.fixture
async def branch(start_branch: BranchFactory) -> Branch:
    return await start_branch()
