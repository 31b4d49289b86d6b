"""Every way a client can hold a resource of the branch server is bounded (issue 15, defect 6).

- A socket that never says hello is closed at the hello deadline, pings or not.
- HTTP headers sent slowly, and a WebSocket message trickled one byte at a time (which
  keeps the heartbeat alive), are cut off.
- One address holds at most so many connections; near the file-descriptor limit new
  sockets are answered 503 and closed, the server keeps serving, and the refusals are
  logged once per spell, not once per attempt.

The gate is in front of the socket that ``bilik server`` listens on, so these run against
the real command in a subprocess (except the hello deadline, which is the server's own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from signaling import limits, tokens
from tests.signaling.conftest import BranchFactory, Device
from tests.signaling.serverprocess import START_S, free_port

FAST = {"BILIK_SERVER_HEADER_READ_S": "0.5", "BILIK_SERVER_FRAME_ASSEMBLY_S": "0.5",
        "BILIK_SERVER_HELLO_TIMEOUT_S": "0.5", "BILIK_SERVER_HEARTBEAT_S": "0.2"}
CUT_S = 10.0  # generous: only a server that never cuts makes a test wait this long


class Served:
    """``bilik server`` in a subprocess with settings from the environment."""

    def __init__(self, tmp: Path, env: dict[str, str], nofile: int | None = None) -> None:
        self.data = tmp / "server"
        self.port = free_port()
        self.log = tmp / "server.log"
        tokens.load_or_create_secret(self.data)

        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bilik.cli", "server", "--data-dir", str(self.data),
                 "--port", str(self.port)],
                stdout=log, stderr=log, env={**os.environ, **env}, preexec_fn=limit)
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

    def health(self) -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            result: dict[str, object] = json.loads(r.read())
            return result

    def token(self, role: str, device_id: str) -> str:
        secret = tokens.load_or_create_secret(self.data)
        return tokens.issue(secret, device_id, role, now=time.time(), ttl_s=3600)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        server.stop()


async def _settled(server: Served) -> dict[str, object]:
    """/healthz once the held sockets are gone: only the asking one is open."""
    deadline = time.monotonic() + CUT_S
    while True:
        with contextlib.suppress(OSError):  # 503 while the others are still closing
            health = server.health()
            if health["connections"]["open"] == 1:  # type: ignore[index]
                return health
        assert time.monotonic() < deadline, "connections were not released"
        await asyncio.sleep(0.05)


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Read until the server closes; returns what it sent."""
    data = b""
    async with asyncio.timeout(CUT_S):
        while chunk := await reader.read(4096):
            data += chunk
    return data


def _frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """A masked client frame (RFC 6455); the zero mask keeps the payload readable."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


async def _upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def test_a_socket_answering_pings_without_a_hello_is_closed_at_the_deadline(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(hello_timeout_s=0.5, heartbeat_s=0.2)
    # The client pings every 0.1 s and answers the server's pings: lively, but no hello.
    ws = await branch.http.ws_connect(branch.ws_url, heartbeat=0.1, autoping=True)
    try:
        async with asyncio.timeout(CUT_S):
            msg = await ws.receive()
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == limits.CLOSE_HELLO_TIMEOUT
    finally:
        await ws.close()


async def test_slow_headers_are_cut_off(tmp_path: Path, served: list[Served]) -> None:
    server = Served(tmp_path, FAST)
    served.append(server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    started = time.monotonic()

    async def trickle() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)  # the pace of the attack, not a wait for a condition

    sender = asyncio.create_task(trickle())
    try:
        answer = await _closed_by_server(reader)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
    assert b"200 OK" not in answer
    assert time.monotonic() - started < 0.05 * len(request)  # before the headers were done
    assert server.health()["connections"]["cut"] == {"slow_headers": 1}  # type: ignore[index]


async def test_a_websocket_message_trickled_one_byte_at_a_time_is_cut_off(
    tmp_path: Path, served: list[Served],
) -> None:
    server = Served(tmp_path, FAST)
    served.append(server)
    reader, writer = await _upgrade(server.port)
    hello = {"v": 1, "type": "hello", "id": "h1", "token": server.token("booth", "booth-01")}
    writer.write(_frame(json.dumps(hello).encode()))
    frame = _frame(json.dumps({"v": 1, "type": "status", "id": "s1", "state": "idle",
                               "pad": "x" * 300}).encode())

    async def trickle() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in frame:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.02)  # the pace of the attack

    sender = asyncio.create_task(trickle())
    try:
        received = await _closed_by_server(reader)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
    assert b'"welcome"' in received  # it was authenticated, then cut mid-message
    assert server.health()["connections"]["cut"] == {"slow_frame": 1}  # type: ignore[index]


async def test_a_booth_sending_whole_messages_slowly_is_not_cut(
    tmp_path: Path, served: list[Served],
) -> None:
    server = Served(tmp_path, FAST)
    served.append(server)
    async with aiohttp.ClientSession() as http:
        # Device reads all the time and answers the server's pings, as a booth agent does.
        device = Device(await http.ws_connect(f"ws://127.0.0.1:{server.port}/ws",
                                              autoping=False), "booth-01")
        try:
            await device.send({"type": "hello", "token": server.token("booth", "booth-01")})
            assert (await device.recv())["type"] == "welcome"
            for _ in range(4):
                # Idle for longer than the assembly limit between whole messages: fine.
                await asyncio.sleep(0.6)
                reply = await device.request({"type": "status", "state": "idle"})
                assert reply["type"] == "ok"
        finally:
            await device.close()
    assert server.health()["connections"]["cut"] == {}  # type: ignore[index]


async def test_one_address_holds_a_bounded_number_of_connections(
    tmp_path: Path, served: list[Served],
) -> None:
    server = Served(tmp_path, {"BILIK_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "8"})
    served.append(server)
    held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(8)]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        refused = await _closed_by_server(reader)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 503") and b"Retry-After" in refused
    finally:
        for _, w in held:
            w.close()
    # The others were kept; once they go, the address may connect again.
    assert (await _settled(server))["status"] == "ok"


async def test_near_the_descriptor_limit_new_sockets_are_refused_and_logged_once(
    tmp_path: Path, served: list[Served],
) -> None:
    server = Served(tmp_path, {"BILIK_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "100000",
                               "BILIK_SERVER_HEADER_READ_S": "60"}, nofile=160)
    served.append(server)
    budget = int(server.health()["connections"]["max_open"])  # type: ignore[index]
    assert 10 <= budget < 160 - limits.FD_RESERVE
    held = []
    refusals = 0
    try:
        for _ in range(budget + 40):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            held.append(writer)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await reader.readline()
            if head.startswith(b"HTTP/1.1 503"):
                refusals += 1
        assert refusals >= 39
    finally:
        for writer in held:
            writer.close()
    assert (await _settled(server))["status"] == "ok"  # it still serves
    log = server.log.read_text()
    assert log.count("refusing new connections") == 1, log[-2000:]
    assert "Too many open files" not in log


async def test_when_a_spell_of_refusals_ends_it_says_so_once(
    tmp_path: Path, served: list[Served],
) -> None:
    server = Served(tmp_path, {"BILIK_SERVER_MAX_CONNECTIONS_PER_ADDRESS": "2"})
    served.append(server)
    held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(2)]
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await _closed_by_server(reader)
        writer.close()
    for _, w in held:
        w.close()
    await _settled(server)
    log = server.log.read_text()
    assert log.count("refusing new connections") == 1
    assert log.count("accepting connections again") == 1
    counted = re.search(r"accepting connections again .*refused=(\d+)", log)
    assert counted and int(counted.group(1)) >= 20  # (and any /healthz asked too early)


def test_the_server_unit_sets_a_descriptor_limit() -> None:
    unit = Path(__file__).resolve().parents[2] / "docs" / "systemd" / "bilik-server.service"
    assert re.search(r"^LimitNOFILE=(\d+)$", unit.read_text(), re.M)
