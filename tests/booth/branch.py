"""A branch server for booth tests: the real signaling server on an ephemeral port, an
officer who can sign in, and every Status booth-01 sends; booths and hub peers made for it."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from booth.agent import BoothAgent
from booth.config import BoothConfig
from signaling import protocol as p
from signaling.client import SignalingClient
from signaling.server import SERVER_KEY, Connection
from tests.booth.hubpeer import HubPeer
from tests.helpers import ServerBranch


class Branch(ServerBranch):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path / "server")
        self.statuses: list[p.Status] = []

    def app(self) -> web.Application:
        app = super().app()
        app[SERVER_KEY].on_status.append(self._status)
        return app

    async def _status(self, conn: Connection, msg: p.Status) -> None:
        if conn.device_id == "booth-01":
            self.statuses.append(msg)

    def hub(self, **kwargs: object) -> HubPeer:
        return HubPeer(self.url, self.token("hub-01", "hub"), self.http_base,
                       **kwargs)  # type: ignore[arg-type]

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
