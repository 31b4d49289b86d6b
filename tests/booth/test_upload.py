"""The booth's document uploader against a real branch server, through a link that breaks."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from PIL import Image

from booth.upload import Uploader, UploadRefused, http_base
from signaling import protocol as p
from signaling import tokens
from signaling.app import make_app
from signaling.client import SignalingClient
from signaling.config import ServerConfig
from signaling.documents import blob_path
from tests.helpers import until


def jpeg(size: tuple[int, int] = (700, 500)) -> bytes:
    pixels = np.random.default_rng(1).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


class CuttingProxy:
    """TCP proxy to the server that drops the first connection after ``cut_after`` bytes
    from the client: a network loss in the middle of an upload."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts = 0
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        cut = self.cuts == 0
        budget = [self.cut_after if cut else -1]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                       limited: bool) -> None:
            try:
                while data := await src.read(16384):
                    if limited and budget[0] >= 0:
                        if len(data) >= budget[0]:
                            dst.write(data[:budget[0]])
                            self.cuts += 1
                            break
                        budget[0] -= len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        t1 = asyncio.create_task(pipe(reader, up_writer, True), name="proxy-up")
        t2 = asyncio.create_task(pipe(up_reader, writer, False), name="proxy-down")
        self.tasks |= {t1, t2}
        await asyncio.gather(t1, t2, return_exceptions=True)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[tuple[TestServer, str]]:
    """A server with booth-01 paired to hub-01; yields the server and booth-01's token."""
    config = ServerConfig(data_dir=tmp_path / "server")
    server = TestServer(make_app(config), host="127.0.0.1", port=0)
    await server.start_server()
    secret = tokens.load_or_create_secret(config.data_dir)
    booth_token = tokens.issue(secret, "booth-01", "booth", now=time.time(), ttl_s=3600)
    url = f"ws://127.0.0.1:{server.port}/ws"
    paired: list[p.Pair] = []

    async def on_message(msg: p.Message) -> None:
        if isinstance(msg, p.Pair):
            paired.append(msg)

    hub = SignalingClient(url, tokens.issue(secret, "hub-01", "hub", now=time.time(),
                                            ttl_s=3600))
    booth = SignalingClient(url, booth_token, on_message=on_message)
    try:
        await hub.start()
        await hub.wait_connected(30)
        await hub.request(p.Capacity(slots=1))
        await booth.start()
        await booth.wait_connected(30)
        await booth.request(p.ServiceRequest())
        await until(lambda: paired, "the pairing")
        yield server, booth_token
    finally:
        await booth.close()
        await hub.close()
        await server.close()


async def test_an_upload_cut_mid_way_resumes_and_the_booth_copy_is_deleted(
    session: tuple[TestServer, str], tmp_path: Path,
) -> None:
    server, token = session
    data = jpeg()
    assert len(data) > 200_000
    proxy = CuttingProxy(int(server.port or 0), cut_after=120_000)
    port = await proxy.start()
    uploader = Uploader(f"http://127.0.0.1:{port}", token, tmp_path / "spool",
                        chunk_bytes=64 * 1024, rand=lambda: 0.0)
    try:
        item = uploader.spool("ktp", data)
        document = await asyncio.wait_for(uploader.send(item), 60)
    finally:
        await uploader.close()
        await proxy.close()
    # The link broke once in the middle of the upload; the uploader (or aiohttp's own retry
    # of the idempotent PUT) went on from the offset the server had.
    assert proxy.cuts == 1
    stored = blob_path(tmp_path / "server" / "documents", hashlib.sha256(data).hexdigest())
    assert stored.read_bytes() == data and document.startswith("d-")
    assert list((tmp_path / "spool").iterdir()) == []


async def test_an_interrupted_upload_goes_on_from_the_servers_offset(
    session: tuple[TestServer, str], tmp_path: Path,
) -> None:
    server, token = session
    base = http_base(f"ws://127.0.0.1:{server.port}/ws")
    data = jpeg((400, 300))
    uploader = Uploader(base, token, tmp_path / "spool", chunk_bytes=16 * 1024)
    item = uploader.spool("ktp", data)
    # An earlier attempt (before a power cut) opened the upload and sent the first half.
    http = await uploader._session()
    async with http.post(f"{base}/api/documents", json={
            "kind": "ktp", "size": len(data), "sha256": item.sha256}) as r:
        item.upload = (await r.json())["upload"]
    half = len(data) // 2
    async with http.put(f"{base}/api/documents/uploads/{item.upload}?offset=0",
                        data=data[:half]) as r:
        assert r.status == 200
    uploader._save_meta(item)
    try:
        (pending,) = uploader.pending()
        assert pending.upload == item.upload
        document = await uploader.send(pending)
    finally:
        await uploader.close()
    assert uploader.resumes == 1
    stored = blob_path(tmp_path / "server" / "documents", item.sha256)
    assert stored.read_bytes() == data and document.startswith("d-")


async def test_a_spooled_document_survives_a_restart_of_the_agent(
    session: tuple[TestServer, str], tmp_path: Path,
) -> None:
    server, token = session
    base = http_base(f"ws://127.0.0.1:{server.port}/ws")
    Uploader(base, token, tmp_path / "spool").spool("kk", jpeg((300, 200)))
    again = Uploader(base, token, tmp_path / "spool")
    try:
        (pending,) = again.pending()
        assert pending.kind == "kk"
        assert (await again.send(pending)).startswith("d-")
    finally:
        await again.close()
    assert again.pending() == []


async def test_a_refusal_is_not_retried_and_leaves_nothing_behind(
    session: tuple[TestServer, str], tmp_path: Path,
) -> None:
    server, _ = session
    secret = tokens.load_or_create_secret(tmp_path / "server")
    stranger = tokens.issue(secret, "booth-07", "booth", now=time.time(), ttl_s=3600)
    uploader = Uploader(http_base(f"ws://127.0.0.1:{server.port}/ws"), stranger,
                        tmp_path / "spool")
    try:
        with pytest.raises(UploadRefused, match="not_in_session"):
            await uploader.send(uploader.spool("ktp", jpeg((200, 100))))
    finally:
        await uploader.close()
    assert uploader.retries == 0 and uploader.pending() == []


def test_http_base_from_the_websocket_url() -> None:
    assert http_base("ws://10.0.0.2:8765/ws") == "http://10.0.0.2:8765"
    assert http_base("wss://branch.example:443/ws") == "https://branch.example:443"


