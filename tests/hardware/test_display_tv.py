"""The TV queue page: served and fed over a real WebSocket by aiohttp's test server."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientSession, WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from hardware import limits
from hardware.displays.calls import Call
from hardware.displays.tv import TvFeed, make_tv_app

TIMEOUT = 10.0


async def _next_json(ws: Any) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), TIMEOUT)
    assert msg.type == WSMsgType.TEXT, msg
    data: dict[str, Any] = msg.json()
    return data


async def test_page_is_served_with_both_languages() -> None:
    async with TestClient(TestServer(make_tv_app())) as client:
        resp = await client.get("/")
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
        assert "Panggilan antrean" in page and "Now serving" in page
        assert 'new URL("ws", location.href)' in page


async def test_calls_are_pushed_to_every_tv_newest_first() -> None:
    feed = TvFeed()
    feed.publish([Call("A011", "2")])
    async with TestClient(TestServer(make_tv_app(feed))) as client:
        ws1 = await client.ws_connect("/ws")
        ws2 = await client.ws_connect("/ws")
        for ws in (ws1, ws2):  # the current state at once on connect
            state = await _next_json(ws)
            assert state["calls"] == [
                {"ticket": "A011", "booth": "2", "id": "A011 ke Bilik 2", "en": "A011 to Booth 2"}
            ]
            assert state["labels"]["title"] == ["Panggilan antrean", "Now serving"]
        feed.publish([Call("A012", "3"), Call("A011", "2")])
        for ws in (ws1, ws2):
            state = await _next_json(ws)
            assert [c["ticket"] for c in state["calls"]] == ["A012", "A011"]
        await ws1.close()
        await ws2.close()


async def test_only_the_latest_calls_are_shown() -> None:
    feed = TvFeed()
    calls = [Call(f"A{n:03d}", "1") for n in range(20, 0, -1)]
    async with TestClient(TestServer(make_tv_app(feed))) as client:
        ws = await client.ws_connect("/ws")
        await _next_json(ws)
        feed.publish(calls)
        state = await _next_json(ws)
        assert len(state["calls"]) == limits.TV_MAX_CALLS
        assert state["calls"][0]["ticket"] == "A020"
        await ws.close()


async def test_a_burst_of_updates_ends_on_the_latest_state() -> None:
    feed = TvFeed()
    async with TestClient(TestServer(make_tv_app(feed))) as client:
        ws = await client.ws_connect("/ws")
        await _next_json(ws)
        for n in range(1, 200):
            feed.publish([Call(f"B{n:03d}", "4")])
        state = await _next_json(ws)
        while state["calls"][0]["ticket"] != "B199":
            state = await _next_json(ws)
        await ws.close()


async def test_server_shutdown_closes_tv_sockets_with_going_away() -> None:
    feed = TvFeed()
    server = TestServer(make_tv_app(feed))
    await server.start_server()
    async with ClientSession() as session:
        ws = await session.ws_connect(server.make_url("/ws"))
        await _next_json(ws)
        assert feed.clients == 1
        closing = asyncio.create_task(server.close())
        msg = await asyncio.wait_for(ws.receive(), TIMEOUT)
        assert msg.type == WSMsgType.CLOSE
        assert msg.data == 1001  # going away: the page reconnects later
        await ws.close()
        await asyncio.wait_for(closing, TIMEOUT)
    assert feed.clients == 0
