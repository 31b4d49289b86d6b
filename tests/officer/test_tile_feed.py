"""The console's tile feed over a real socket: a hub, a real booth, one batch in flight."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import cv2
import numpy as np

from officer import limits
from officer.hub import Hub
from tests.officer.conftest import OFFICER, PIN, WAIT_S, Branch, until

HEADERS = {"X-Bilik-Console": "1"}


def base(hub: Hub) -> str:
    return f"http://127.0.0.1:{hub.metrics_port}/console"


async def sign(http: aiohttp.ClientSession, hub: Hub, action: str) -> None:
    body = {"officer": OFFICER, "pin": PIN} if action == "sign-in" else {}
    async with http.post(f"{base(hub)}/api/{action}", json=body, headers=HEADERS) as reply:
        assert reply.status == 200, await reply.text()


def unpack(message: bytes) -> dict[str, Any]:
    """The page's reading of a batch: booth -> decoded picture (BGR array)."""
    size = int.from_bytes(message[:4], "big")
    header = json.loads(message[4 : 4 + size])
    at = 4 + size
    pictures = {}
    for tile in header["tiles"]:
        jpeg = np.frombuffer(message[at : at + tile["size"]], np.uint8)
        at += tile["size"]
        pictures[tile["booth"]] = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert at == len(message)
    return pictures


async def test_a_signed_in_console_gets_the_booths_pictures_one_batch_per_ack(
    branch: Branch,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    await branch.booth("booth-01", receive=False)
    await until(lambda: hub.peer_of("booth-01") is not None
                and hub.peer_of("booth-01").latest_frame is not None, "video from booth-01")
    async with aiohttp.ClientSession() as http:
        await sign(http, hub, "sign-in")
        async with http.ws_connect(f"{base(hub)}/tiles/ws") as ws:
            first = await ws.receive_bytes(timeout=WAIT_S)
            picture = unpack(first)["booth-01"]
            assert picture.shape == (limits.TILE_HEIGHT, limits.TILE_WIDTH, 3)
            assert picture.std() > 10  # the test pattern, not a blank picture
            made = hub.tiles.encoded
            # New pictures are made, but none is sent until the page says it drew the batch.
            await until(lambda: hub.tiles.encoded >= made + 3, "more tile snapshots")
            try:
                extra = await ws.receive(timeout=1.0)
            except TimeoutError:
                extra = None
            assert extra is None, f"a second batch ({extra.type.name}) before the ack"
            await ws.send_str("ack")
            second = unpack(await ws.receive_bytes(timeout=WAIT_S))
            assert set(second) == {"booth-01"}
            # Anything but "ack" is refused with a clear reason.
            await ws.send_str("more please")
            closing = await ws.receive(timeout=WAIT_S)
            while closing.type == aiohttp.WSMsgType.BINARY:
                closing = await ws.receive(timeout=WAIT_S)
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == limits.CLOSE_UNEXPECTED
            assert "ack" in closing.extra
        # Nobody watching: snapshots stop being made.
        await until(lambda: hub.tiles.watchers == 0, "the feed's listener removed")
        rounds = hub.tiles.rounds
        await until(lambda: hub.tiles.rounds >= rounds + 2, "a refresh round with nobody watching")
        made, rounds = hub.tiles.encoded, hub.tiles.rounds
        await until(lambda: hub.tiles.rounds >= rounds + 3, "three more refresh rounds")
        assert hub.tiles.encoded == made


async def test_the_tile_feed_is_for_the_signed_in_officer_of_this_page(branch: Branch) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    await branch.booth("booth-01", receive=False)
    async with aiohttp.ClientSession() as http:
        # Not signed in: refused, and so is a single snapshot.
        async with http.get(f"{base(hub)}/tiles/ws") as reply:
            assert reply.status == 403
            assert (await reply.json())["detail"] == "sign in first"
        async with http.get(f"{base(hub)}/tiles/booth-01.jpg") as reply:
            assert reply.status == 403
        await sign(http, hub, "sign-in")
        # Another site's page in the officer's browser: refused.
        async with http.get(f"{base(hub)}/tiles/ws",
                            headers={"Origin": "http://evil.example"}) as reply:
            assert reply.status == 403
        async with http.ws_connect(f"{base(hub)}/tiles/ws") as ws:
            await ws.receive_bytes(timeout=WAIT_S)
            await sign(http, hub, "sign-out")
            message = await ws.receive(timeout=WAIT_S)
            while message.type == aiohttp.WSMsgType.BINARY:
                message = await ws.receive(timeout=WAIT_S)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == limits.CLOSE_SIGNED_OUT
