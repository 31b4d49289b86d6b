"""A real branch for the hub's tests: server on an ephemeral port, hub, simulated booths."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from booth.replay import encode_loop
from officer.config import HubConfig
from officer.hub import Hub
from signaling import tokens
from signaling.cases import add_officer
from signaling.config import ServerConfig
from signaling.server import SERVER_KEY, make_app
from tests.officer.simbooth import SimBooth

WAIT_S = 60.0
OFFICER = "siti"
PIN = "246810"


async def until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Branch:
    def __init__(self, data_dir: Path, server: TestServer, loop_file: Path) -> None:
        self.data_dir = data_dir
        self.server = server
        self.branch = server.app[SERVER_KEY]
        self.secret = tokens.load_or_create_secret(data_dir)
        self.url = f"ws://127.0.0.1:{server.port}/ws"
        self.loop_file = loop_file
        self.hubs: list[Hub] = []
        self.booths: list[SimBooth] = []

    def token(self, device: str, role: str) -> str:
        return tokens.issue(self.secret, device, role, now=time.time(), ttl_s=3600)

    async def add_officer(self, officer: str = OFFICER, pin: str = PIN) -> None:
        db = self.branch.db
        await db.call(add_officer, db.sync, officer, pin, "", time.time(), "test")

    async def hub(self, device: str = "hub-01", **settings: object) -> Hub:
        config = HubConfig(server=self.url, metrics_port=0, **settings)  # type: ignore[arg-type]
        hub = Hub(config, self.token(device, "hub"))
        self.hubs.append(hub)
        await hub.start()
        await hub.wait_connected(WAIT_S)
        return hub

    async def booth(self, device: str, *, receive: bool = True, queue: bool = False) -> SimBooth:
        booth = SimBooth(self.url, self.token(device, "booth"), replay=self.loop_file,
                         receive=receive, queue=queue)
        self.booths.append(booth)
        await booth.start()
        return booth

    async def close(self) -> None:
        for booth in self.booths:
            await booth.stop()
        for hub in self.hubs:
            await hub.stop()


@pytest.fixture(scope="session")
def loop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "loop.ivf"
    encode_loop(path)
    return path


@pytest.fixture
async def branch(tmp_path: Path, loop_file: Path) -> AsyncIterator[Branch]:
    config = ServerConfig(data_dir=tmp_path, resume_window_s=30.0, heartbeat_s=1.0)
    server = TestServer(make_app(config), host="127.0.0.1", port=0)
    await server.start_server()
    b = Branch(tmp_path, server, loop_file)
    try:
        yield b
    finally:
        await b.close()
        await server.close()
