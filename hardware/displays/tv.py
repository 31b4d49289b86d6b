"""The queue display on a TV: a browser page fed over WebSocket.

:func:`make_tv_app` builds an aiohttp sub-application the branch server mounts (for
example ``app.add_subapp("/tv/", make_tv_app(feed))``): ``GET /`` serves the page and
``GET /ws`` pushes the state as JSON whenever :meth:`TvFeed.publish` is called::

    {"calls": [{"ticket": "A012", "booth": "3",
                "id": "A012 ke Bilik 3", "en": "A012 to Booth 3"}, ...],
     "labels": {"title": ["Panggilan antrean", "Now serving"], ...},
     "speech": {"enabled": true, "volume": 0.8},
     "announcements": [{"seq": 7, "url": "sounds/<hash>.wav", "text": "Nomor antrean ..."}]}

Announcements (:meth:`TvFeed.announce`) carry a growing ``seq``; the page plays, one after
the other, those newer than the last it played, so none is lost to a coalesced update and
none overlaps another. ``GET /sounds/<name>.wav`` serves them from ``sounds`` (a
:class:`hardware.speech.Announcements` cache) when the app is made with one.

Newest call first, at most :data:`~hardware.limits.TV_MAX_CALLS`. A TV that connects gets
the current state at once; one that cannot take an update within
:data:`~hardware.limits.TV_SEND_TIMEOUT_S` is dropped (its page reconnects by itself).
Each socket holds only the latest state, so a slow TV never makes memory grow.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Sequence
from importlib import resources
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bilik.catalogue import text
from hardware import limits
from hardware.displays.calls import Call
from hardware.speech import Announcements

log = logging.getLogger(__name__)

_LABELS = ("tv_title", "tv_ticket", "tv_booth", "tv_offline")


class TvFeed:
    """What the TV pages show; :meth:`publish` pushes it to every connected page."""

    def __init__(self, *, max_calls: int = limits.TV_MAX_CALLS, speak: bool = False,
                 volume: float = 1.0) -> None:
        if not 0.0 <= volume <= 1.0:
            raise ValueError(f"volume must be 0..1, got {volume}")
        self.max_calls = max_calls
        self.speech = {"enabled": speak, "volume": volume}
        self._calls: tuple[Call, ...] = ()
        self._clients: set[_Client] = set()
        self._announcements: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=limits.TV_ANNOUNCEMENTS)
        self._seq = 0

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
        return {"calls": calls, "labels": labels, "speech": dict(self.speech),
                "announcements": list(self._announcements)}

    def publish(self, calls: Sequence[Call] | None = None) -> None:
        """Show ``calls`` (newest first; None: the same); beyond ``max_calls`` not shown."""
        if calls is not None:
            self._calls = tuple(calls[: self.max_calls])
        state = self.state()
        for client in list(self._clients):
            client.offer(state)

    def announce(self, sound: str, phrase: str) -> int:
        """Have every page play ``sounds/<sound>`` (saying ``phrase``) after what it plays."""
        self._seq += 1
        self._announcements.append({"seq": self._seq, "url": f"sounds/{sound}", "text": phrase})
        self.publish()
        return self._seq

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
TV_SOUNDS = web.AppKey("tv_sounds", Announcements)


async def _page(request: web.Request) -> web.Response:
    html = resources.files("hardware.displays").joinpath("tv.html").read_text("utf-8")
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def _sound(request: web.Request) -> web.FileResponse:
    sounds = request.app.get(TV_SOUNDS)
    path = sounds.path(request.match_info["name"]) if sounds is not None else None
    if path is None:
        raise web.HTTPNotFound(text="no such announcement")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Cache-Control": "max-age=86400"})


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


def make_tv_app(feed: TvFeed | None = None,
                sounds: Announcements | None = None) -> web.Application:
    """The TV page and its WebSocket as an aiohttp (sub-)application; see the module doc."""
    app = web.Application()
    app[TV_FEED] = feed or TvFeed()
    if sounds is not None:
        app[TV_SOUNDS] = sounds
    app.router.add_get("/", _page)
    app.router.add_get("/ws", _ws)
    app.router.add_get("/sounds/{name}", _sound)
    app.on_shutdown.append(_close_all)
    return app
