"""The queue display on a TV: a browser page fed over WebSocket.

:func:`make_tv_app` builds an aiohttp sub-application the branch server mounts (for
example ``app.add_subapp("/tv/", make_tv_app(feed))``): ``GET /`` serves the page and
``GET /ws`` pushes the state as JSON whenever :meth:`TvFeed.publish` is called::

    {"calls": [{"ticket": "A012", "booth": "3",
                "id": "A012 ke Bilik 3", "en": "A012 to Booth 3"}, ...],
     "labels": {"title": ["Panggilan antrean", "Now serving"], ...}}

Newest call first, at most :data:`~hardware.limits.TV_MAX_CALLS`. A TV that connects gets
the current state at once; one that cannot take an update within
:data:`~hardware.limits.TV_SEND_TIMEOUT_S` is dropped (its page reconnects by itself).
Each socket holds only the latest state, so a slow TV never makes memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from importlib import resources
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bilik.catalogue import text
from hardware import limits
from hardware.displays.calls import Call

log = logging.getLogger(__name__)

_LABELS = ("tv_title", "tv_ticket", "tv_booth", "tv_offline")


class TvFeed:
    """What the TV pages show; :meth:`publish` pushes it to every connected page."""

    def __init__(self, *, max_calls: int = limits.TV_MAX_CALLS) -> None:
        self.max_calls = max_calls
        self._calls: tuple[Call, ...] = ()
        self._clients: set[_Client] = set()

    def state(self) -> dict[str, Any]:
        calls = []
        for call in self._calls:
            message = text("hardware.call", ticket=call.ticket, booth=call.booth)
            calls.append(
                {"ticket": call.ticket, "booth": call.booth, "id": message.id, "en": message.en}
            )
        labels = {}
        for key in _LABELS:
            message = text(f"hardware.{key}")
            labels[key.removeprefix("tv_")] = [message.id, message.en]
        return {"calls": calls, "labels": labels}

    def publish(self, calls: Sequence[Call]) -> None:
        """Show ``calls`` (newest first); extra calls beyond ``max_calls`` are not shown."""
        self._calls = tuple(calls[: self.max_calls])
        state = self.state()
        for client in list(self._clients):
            client.offer(state)

    @property
    def clients(self) -> int:
        return len(self._clients)


class _Client:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.latest: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)

    def offer(self, state: dict[str, Any]) -> None:
        if self.latest.full():
            self.latest.get_nowait()  # an older state nobody sent yet: the new one wins
        self.latest.put_nowait(state)

    async def pump(self) -> None:
        while True:
            state = await self.latest.get()
            try:
                await asyncio.wait_for(self.ws.send_json(state), limits.TV_SEND_TIMEOUT_S)
            except (TimeoutError, ConnectionError) as exc:
                log.warning("TV page dropped: %s", exc or "send timed out")
                await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
                return


TV_FEED = web.AppKey("tv_feed", TvFeed)


async def _page(request: web.Request) -> web.Response:
    html = resources.files("hardware.displays").joinpath("tv.html").read_text("utf-8")
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def _ws(request: web.Request) -> web.WebSocketResponse:
    feed = request.app[TV_FEED]
    ws = web.WebSocketResponse(heartbeat=limits.TV_HEARTBEAT_S, max_msg_size=4096)
    await ws.prepare(request)
    client = _Client(ws)
    client.offer(feed.state())
    feed._clients.add(client)
    pump = asyncio.create_task(client.pump(), name="bilik-tv-pump")
    try:
        async for msg in ws:  # the page sends nothing; reading notices it closing
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        feed._clients.discard(client)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
    return ws


async def _close_all(app: web.Application) -> None:
    for client in list(app[TV_FEED]._clients):
        await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def make_tv_app(feed: TvFeed | None = None) -> web.Application:
    """The TV page and its WebSocket as an aiohttp (sub-)application; see the module doc."""
    app = web.Application()
    app[TV_FEED] = feed or TvFeed()
    app.router.add_get("/", _page)
    app.router.add_get("/ws", _ws)
    app.on_shutdown.append(_close_all)
    return app
