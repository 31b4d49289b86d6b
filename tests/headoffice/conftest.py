"""Fixtures of the head-office tests: one real PostgreSQL for the session, a fresh database
per test, head offices in this process (aiohttp TestServer) or as ``bilik headoffice``
processes, and branches' keys."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bilik.evidence import keys, requestauth
from headoffice import database
from headoffice.app import make_app
from headoffice.config import HeadOfficeConfig
from headoffice.scratchdb import PostgresServer, free_port

START_S = 60.0
_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def dsn(postgres: PostgresServer) -> AsyncIterator[str]:
    name = f"bilik_test_{os.getpid()}_{next(_names)}"
    admin = await asyncpg.connect(postgres.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    yield postgres.dsn(name)
    admin = await asyncpg.connect(postgres.dsn())
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


class HeadOffice:
    """A head office in this process, on a real socket."""

    def __init__(self, config: HeadOfficeConfig) -> None:
        self.config = config
        self.app = make_app(config)
        self.server = TestServer(self.app, host="127.0.0.1", port=config.port or None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def start_headoffice(dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    started: list[HeadOffice] = []

    async def factory(**settings: Any) -> HeadOffice:
        settings.setdefault("dsn", dsn)
        settings.setdefault("blob_dir", tmp_path / "blobs")
        settings.setdefault("port", 0)
        office = HeadOffice(HeadOfficeConfig(**settings))
        await office.server.start_server()
        started.append(office)
        return office

    yield factory
    for office in started:
        await office.server.close()


@pytest.fixture
async def headoffice(start_headoffice: Any) -> HeadOffice:
    office: HeadOffice = await start_headoffice()
    return office


async def register(dsn: str, branch: str, key: Ed25519PrivateKey) -> None:
    pool = await database.connect(dsn)
    try:
        await database.add_branch(pool, branch, keys.public_pem(key).encode(), "test")
    finally:
        await pool.close()


async def signed(http: aiohttp.ClientSession, office_url: str, key: Ed25519PrivateKey,
                 branch: str, method: str, path_qs: str, *, now: float | None = None,
                 **kwargs: Any) -> tuple[int, Any]:
    headers = requestauth.sign(key, branch, method, path_qs, time.time() if now is None else now)
    async with http.request(method, office_url + path_qs, headers=headers, **kwargs) as r:
        return r.status, await r.json()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class HeadOfficeProcess:
    """``bilik headoffice`` in its own process (for kill -9 and several processes)."""

    def __init__(self, dsn: str, blob_dir: Path, log: Path, *, crash_at: str = "",
                 port: int | None = None) -> None:
        self.dsn, self.blob_dir, self.log = dsn, blob_dir, log
        self.port = port or free_port()
        self.crash_at = crash_at
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HeadOfficeProcess:
        env = {**os.environ, "BILIK_CRASH_AT": self.crash_at}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bilik.cli", "headoffice", "--port", str(self.port),
                 "--dsn", self.dsn, "--blob-dir", str(self.blob_dir)],
                stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "head office did not start"
            time.sleep(0.1)

    def wait_dead(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def office_processes(dsn: str, tmp_path: Path) -> Iterator[Any]:
    started: list[HeadOfficeProcess] = []

    def factory(*, crash_at: str = "", port: int | None = None) -> HeadOfficeProcess:
        proc = HeadOfficeProcess(dsn, tmp_path / "blobs", tmp_path / f"ho-{len(started)}.log",
                                 crash_at=crash_at, port=port)
        started.append(proc)
        return proc.start()

    yield factory
    for proc in started:
        proc.stop()


async def register_pem(dsn: str, branch: str, pem: bytes) -> None:
    pool = await database.connect(dsn)
    try:
        await database.add_branch(pool, branch, pem, "test")
    finally:
        await pool.close()


async def rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
