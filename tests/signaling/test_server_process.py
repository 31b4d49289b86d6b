"""`bilik server` as a real process: tokens from the CLI, start-up errors, and kill -9."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from signaling import tokens
from signaling.store import DB_FILE
from tests.signaling.conftest import Device
from tests.signaling.serverprocess import START_S, ServerProcess, bilik, cli_token, free_port, hello

pytestmark = pytest.mark.slow

SECRET_LEN = tokens.SECRET_BYTES


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bilik(*args), capture_output=True, text=True, timeout=START_S)


# --- tokens from the command line -------------------------------------------------------


def test_token_command_prints_a_token_and_creates_the_secret(tmp_path: Path) -> None:
    data = tmp_path / "server"
    out = run("server", "token", "--role", "booth", "--id", "booth-01", "--data-dir", str(data))
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    secret_file = data / tokens.SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    grant = tokens.verify(secret_file.read_bytes(), token, now=time.time())
    assert (grant.device_id, grant.role.value) == ("booth-01", "booth")
    assert grant.expires_at - grant.issued_at == pytest.approx(365 * 86400, abs=1)
    # A second token uses the same secret and lives as long as asked.
    out = run("server", "token", "--role", "hub", "--id", "hub-01", "--ttl-days", "1",
              "--json", "--data-dir", str(data))
    body = json.loads(out.stdout)
    assert (body["id"], body["role"]) == ("hub-01", "hub")
    grant = tokens.verify(secret_file.read_bytes(), body["token"], now=time.time())
    assert grant.expires_at - grant.issued_at == pytest.approx(86400, abs=1)


def test_token_command_refuses_a_bad_id_in_one_line(tmp_path: Path) -> None:
    out = run("server", "token", "--role", "booth", "--id", "Booth 01", "--data-dir",
              str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.startswith("bilik server: error: device id 'Booth 01' must be")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = run("server", "token", "--role", "janitor", "--id", "x", "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "invalid choice: 'janitor'" in out.stderr


# --- start-up errors --------------------------------------------------------------------


def _unwritable(tmp_path: Path) -> Path:
    """A directory this process cannot write, even as root (which ignores mode bits)."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        return locked / "server"
    return Path("/sys/bilik-test-server")  # sysfs refuses mkdir even to root


@pytest.mark.parametrize("case", ["unwritable", "under-a-file", "damaged-database"])
def test_unusable_data_dir_is_one_clear_line_not_a_traceback(tmp_path: Path, case: str) -> None:
    if case == "unwritable":
        data, expected = _unwritable(tmp_path), "is not writable"
    elif case == "under-a-file":
        (tmp_path / "file").write_text("x")
        data, expected = tmp_path / "file" / "server", "Not a directory"
    else:
        data, expected = tmp_path / "server", "cannot open database"
        tokens.load_or_create_secret(data)
        (data / DB_FILE).write_bytes(b"garbage" * 1000)
    proc = subprocess.run(
        bilik("server", "--data-dir", str(data), "--port", str(free_port())),
        capture_output=True, text=True, timeout=START_S,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert lines[-1].startswith("bilik server: error: ")
    assert expected in lines[-1] and str(data) in lines[-1]


# --- kill -9 loses nothing acknowledged -------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "server")
    yield proc
    proc.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_kill_9_loses_no_acknowledged_pairing(
    server: ServerProcess, http: aiohttp.ClientSession
) -> None:
    hub_token = cli_token(server.data, "hub", "hub-01")  # creates the secret before first start
    booth_token = cli_token(server.data, "booth", "booth-01")
    server.start()
    devices: list[Device] = []
    try:
        hub = await hello(http, server, "hub-01", hub_token)
        booth = await hello(http, server, "booth-01", booth_token)
        devices += [hub, booth]
        assert (await hub.request({"type": "capacity", "slots": 1}))["type"] == "ok"
        assert (await booth.request({"type": "service_request"}))["type"] == "ok"
        pair = await booth.expect("pair")  # acknowledged to the device: must survive
        await hub.expect("pair")
        server.kill9()
        for device in devices:
            await device.closed()
            await device.close()
        devices.clear()

        with sqlite3.connect(server.data / DB_FILE) as db:
            rows = db.execute("SELECT id, booth, hub, released FROM pairings").fetchall()
        assert rows == [(pair["pairing"], "booth-01", "hub-01", None)]

        server.start()  # same data dir, same secret: the old tokens still work
        hub = await hello(http, server, "hub-01", hub_token)
        booth = await hello(http, server, "booth-01", booth_token)
        devices += [hub, booth]
        for device in (hub, booth):
            assert device.welcome["resumed"] is True
            again = await device.expect("pair")
            assert (again["pairing"], again["booth"], again["hub"]) == (
                pair["pairing"], "booth-01", "hub-01")
        await booth.send({"type": "ice", "peer": "hub-01", "pairing": pair["pairing"]})
        assert (await hub.expect("ice"))["peer"] == "booth-01"
        with sqlite3.connect(server.data / DB_FILE) as db:
            actions = [r[0] for r in db.execute(
                "SELECT action FROM audit WHERE action != 'token_issued' ORDER BY seq")]
        assert actions == ["start", "pair", "start"]  # no "stop": it was killed
    finally:
        for device in devices:
            await device.close()


async def test_server_creates_its_secret_on_first_start(server: ServerProcess) -> None:
    assert not server.data.exists()
    server.start()
    secret = (server.data / tokens.SECRET_FILE).read_bytes()
    assert len(secret) == SECRET_LEN
    assert (server.data / DB_FILE).exists()
    server.stop()
    assert server.proc is not None and server.proc.returncode == 0
    server.start()
    assert (server.data / tokens.SECRET_FILE).read_bytes() == secret
