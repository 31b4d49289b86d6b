"""A real branch server speaking TLS on 127.0.0.1 (the site `bilik server` uses), its branch
CA in a temporary data directory, and devices that enrol with it for real."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bilik.agent.settings import DeviceSettings
from bilik.tls import client_context
from signaling import ca, enrolclient, enrolment, revocation
from signaling.app import make_app
from signaling.config import ServerConfig
from signaling.server import SERVER_KEY, BranchServer
from signaling.tlssite import TlsSite
from tests.signaling.conftest import Device


class TlsBranch:
    def __init__(self, root: Path, **settings: Any) -> None:
        self.root = root
        self.config = ServerConfig(data_dir=root / "server", port=0, **settings)
        self.files = ca.CaFiles.of(self.config.data_dir)
        ca.init(self.files, branch=self.config.branch,
                names=ca.server_names(self.config.host, []))
        self.app = make_app(self.config)
        self.server: BranchServer = self.app[SERVER_KEY]
        self.runner = web.AppRunner(self.app, handle_signals=False)
        self.site: TlsSite | None = None
        self.devices: list[Device] = []

    async def start(self) -> TlsBranch:
        await self.runner.setup()
        self.site = TlsSite(self.runner, self.server.gate, "127.0.0.1", 0,
                            ca.server_context(self.files))
        await self.site.start()
        return self

    async def __aenter__(self) -> TlsBranch:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        for device in self.devices:
            await device.close()
        await self.runner.cleanup()

    @property
    def port(self) -> int:
        assert self.site is not None
        return self.site.port

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/ws"

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def settings(self, name: str) -> DeviceSettings:
        """A device's TLS settings: the branch CA, and where its certificate would go."""
        home = self.root / name
        return DeviceSettings(ca_file=self.files.ca_cert, cert_file=home / "device.pem",
                           key_file=home / "device.key")

    async def code(self, role: str, device_id: str, *, now: float | None = None) -> str:
        def issue() -> str:
            store = enrolment.open_store(self.config.data_dir)
            try:
                return enrolment.issue_code(store, device_id, role, by="person:test",
                                            now=time.time() if now is None else now).code
            finally:
                store.close()

        return await asyncio.to_thread(issue)

    async def enrol(self, role: str, device_id: str) -> DeviceSettings:
        settings = self.settings(device_id)
        await enrolclient.enrol(self.ws_url, await self.code(role, device_id), role, settings,
                                role)
        return settings

    async def revoke(self, device_id: str) -> None:
        await asyncio.to_thread(revocation.revoke_offline, self.config.data_dir, device_id,
                                "person:test")

    async def open(self, settings: DeviceSettings | ssl.SSLContext | None,
                   http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        context = settings if isinstance(settings, ssl.SSLContext) else client_context(
            settings or self.settings("anonymous"))
        return await http.ws_connect(self.ws_url, autoping=False, ssl=context)

    async def hello(self, device_id: str, settings: DeviceSettings, http: aiohttp.ClientSession,
                    token: str = "") -> tuple[Device, dict[str, Any]]:
        """Connect with the device's certificate, say hello; returns the first reply."""
        device = Device(await self.open(settings, http), device_id)
        self.devices.append(device)
        await device.send({"type": "hello", "token": token})
        return device, await device.recv()

    def audit(self) -> list[dict[str, Any]]:
        import sqlite3

        db = sqlite3.connect(self.config.data_dir / "bilik.sqlite3")
        try:
            rows = db.execute("SELECT actor, action, subject, detail FROM audit").fetchall()
        finally:
            db.close()
        return [{"actor": r[0], "action": r[1], "subject": r[2], "detail": json.loads(r[3])}
                for r in rows]
