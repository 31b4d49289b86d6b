"""A branch server for booth tests: the real signaling server on an ephemeral port, an
officer who can sign in, and every Status booth-01 sends; booths and hub peers made for it."""

from __future__ import annotations

import time
from pathlib import Path

from aiohttp.test_utils import TestServer

from booth.agent import BoothAgent
from booth.config import BoothConfig
from signaling import protocol as p
from signaling import tokens
from signaling.app import make_app
from signaling.client import SignalingClient
from signaling.config import ServerConfig
from signaling.server import SERVER_KEY, Connection
from tests.booth.hubpeer import HubPeer


class Branch:
    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "server"
        app = make_app(ServerConfig(data_dir=self.data_dir, heartbeat_s=1.0))
        app[SERVER_KEY].on_status.append(self._status)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        self.statuses: list[p.Status] = []

    async def _status(self, conn: Connection, msg: p.Status) -> None:
        if conn.device_id == "booth-01":
            self.statuses.append(msg)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws"

    def token(self, device: str, role: str) -> str:
        secret = tokens.load_or_create_secret(self.data_dir)
        return tokens.issue(secret, device, role, now=time.time(), ttl_s=3600)

    def hub(self, **kwargs: object) -> HubPeer:
        return HubPeer(self.url, self.token("hub-01", "hub"),
                       f"http://127.0.0.1:{self.server.port}", **kwargs)  # type: ignore[arg-type]

    def booth(self, tmp_path: Path, **settings: object) -> BoothAgent:
        # Instructions read out: tests/booth/test_narration.py; here the recorded sound is
        # the officer's alone.
        values: dict[str, object] = {"flow": "direct", "read_aloud": False, **settings}
        config = BoothConfig(server=self.url, id="booth-01", data_dir=tmp_path / "booth",
                             **values)  # type: ignore[arg-type]
        return BoothAgent(config, self.token("booth-01", "booth"))


class Kiosk:
    """A ticket kiosk's side of the protocol: keeps the tickets the server issues it."""

    def __init__(self, url: str, token: str) -> None:
        self.tickets: list[p.TicketInfo] = []
        self.client = SignalingClient(url, token, on_message=self._on_message)

    async def _on_message(self, msg: p.Message) -> None:
        if isinstance(msg, p.TicketInfo):
            self.tickets.append(msg)
