"""The fuzz tests of the device socket and of the HTTP routes, against the TLS server.

The same tests as tests/signaling/test_fuzz_roles.py and test_fuzz_http.py, with their
``start_branch`` and ``http`` fixtures replaced: the server is served by the site
``bilik server`` uses (:class:`signaling.tlssite.TlsSite`) with a branch CA, and every
client verifies it (devices say hello with tokens over TLS, the migration path).
"""

from __future__ import annotations

import dataclasses
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bilik.agent.settings import DeviceSettings
from bilik.tls import client_context
from signaling import ca
from signaling.config import ServerConfig
from signaling.tlssite import TlsSite
from tests.signaling import test_fuzz_roles
from tests.signaling.conftest import Branch, BranchFactory
from tests.signaling.test_fuzz_http import (
    test_nested_json_is_a_400_on_every_json_route as test_nested_json_over_tls,
)
from tests.signaling.test_fuzz_http import (
    test_no_route_answers_500_to_any_body_or_credential as test_no_500_over_tls,
)

test_every_message_over_tls = (
    test_fuzz_roles.test_every_message_a_role_may_send_is_answered_and_never_kills_the_connection)
__all__ = ["test_every_message_over_tls", "test_nested_json_over_tls", "test_no_500_over_tls"]


class TlsFuzzBranch(Branch):
    """The fuzz tests' branch, served over TLS by the production site."""

    def __init__(self, config: ServerConfig, http: aiohttp.ClientSession,
                 context: ssl.SSLContext, client: ssl.SSLContext) -> None:
        super().__init__(config, http)
        self.context = context
        self.client = client
        self.runner = web.AppRunner(self.app, handle_signals=False)
        self.site: TlsSite | None = None

    async def start(self) -> Branch:
        await self.runner.setup()
        self.site = TlsSite(self.runner, self.server.gate, "127.0.0.1", 0, self.context)
        await self.site.start()
        return self

    async def stop(self) -> None:
        for device in self.devices:
            await device.close()
        await self.runner.cleanup()

    @property
    def port(self) -> int:
        assert self.site is not None
        return self.site.port

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/ws"

    async def open(self, **ws_kwargs: Any) -> aiohttp.ClientWebSocketResponse:
        return await self.http.ws_connect(self.ws_url, autoping=False, ssl=self.client,
                                          **ws_kwargs)


@pytest.fixture
def branch_ca(tmp_path: Path) -> ca.CaFiles:
    files = ca.CaFiles(tmp_path / "ca")
    ca.init(files, branch="kc-01", names=list(ca.DEFAULT_NAMES))
    return files


@pytest.fixture
async def http(branch_ca: ca.CaFiles) -> AsyncIterator[aiohttp.ClientSession]:
    context = client_context(DeviceSettings(ca_file=branch_ca.ca_cert))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        yield session


@pytest.fixture
async def start_branch(tmp_path: Path, http: aiohttp.ClientSession, branch_ca: ca.CaFiles
                       ) -> AsyncIterator[BranchFactory]:
    started: list[Branch] = []
    client = client_context(DeviceSettings(ca_file=branch_ca.ca_cert))
    assert client is not None

    async def factory(**settings: Any) -> Branch:
        settings.setdefault("data_dir", tmp_path / "server")
        settings.setdefault("port", 0)
        config = dataclasses.replace(ServerConfig(), **settings)
        files = ca.CaFiles.of(config.data_dir)
        if not files.exists():
            shutil.copytree(branch_ca.directory, files.directory)
        branch = TlsFuzzBranch(config, http, ca.server_context(files), client)
        started.append(branch)
        return await branch.start()

    yield factory
    for branch in started:
        await branch.stop()


@pytest.fixture
async def branch(start_branch: BranchFactory) -> Branch:
    return await start_branch()
