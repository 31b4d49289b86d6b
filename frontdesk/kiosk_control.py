"""The kiosk's local endpoint: its touch screen page, and a small JSON API for scripts.

Served by the kiosk agent on this machine's loopback only (``control_host``, default
127.0.0.1:8791); Chromium in kiosk mode shows ``/`` full screen (docs/frontdesk.md).

    GET  /               the touch screen page (plain HTML, CSS, JS from frontdesk/kiosk_page/)
    GET  /theme.css      this kiosk's theme and text size as CSS custom properties
    GET  /state          every label (catalogue, both languages), services, settings, health
    GET  /events         WebSocket: {"type": "state"} on any change, {"type": "result"}
                         for every ticket, check-in or refusal (scanner ones too)
    POST /ticket         {"service": "jht", "priority": "none|elderly|disabled|pregnant"}
    POST /check-in       {"code": "BK-1001"}  (a booking code; 400 if it cannot be one)
    POST /scan           {"code": "..."}      (anything scanned or typed: told apart)
    POST /reprint        the last ticket that failed to print
    POST /help           a participant asks for staff (an alert to the officers)
    GET  /status         connection, health, services, the last result

Requests whose peer is not loopback are refused. The page recovers by itself: its events
socket reconnects with capped backoff while the agent is down, and a restarted agent (a
new ``boot`` id) makes the page load itself again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, web

from bilik import themes
from bilik.catalogue import Message, text
from bilik.devicehealth import DeviceHealth
from frontdesk import limits, loopback
from frontdesk.kiosk_commands import PRIORITY_NAMES, CommandError
from frontdesk.kiosk_result import KioskResult, Outcome

if TYPE_CHECKING:
    from frontdesk.kiosk import Kiosk

log = logging.getLogger(__name__)

PAGE_FILES = {"/": ("index.html", "text/html"), "/kiosk.js": ("kiosk.js", "text/javascript"),
              "/kiosk.css": ("kiosk.css", "text/css")}

# What the page says, by the name the page uses: catalogue keys, both languages each.
PAGE_LABELS = {
    "title": "frontdesk.kiosk_title",
    "choose_service": "frontdesk.kiosk_choose_service",
    "priority_question": "frontdesk.kiosk_priority_question",
    "priority_none": "frontdesk.priority_none",
    "booking": "frontdesk.kiosk_booking",
    "booking_prompt": "frontdesk.kiosk_booking_prompt",
    "check_in": "frontdesk.kiosk_check_in",
    "back": "frontdesk.kiosk_back",
    "done": "frontdesk.kiosk_done",
    "delete": "frontdesk.kiosk_delete",
    "help": "frontdesk.kiosk_help",
    "help_called": "frontdesk.kiosk_help_called",
    "working": "frontdesk.kiosk_working",
    "take_ticket": "frontdesk.kiosk_take_ticket",
    "ahead_none": "frontdesk.wait_next",
    "estimate": "frontdesk.wait_estimate",
    "unreadable": "frontdesk.code_unreadable",
    "offline": "frontdesk.offline",
    "reconnecting": "frontdesk.kiosk_reconnecting",
    "printer_out": "frontdesk.kiosk_printer_out",
}


def _pair(message: Message) -> list[str]:
    return [message.id, message.en]


def service_label(service: str) -> list[str]:
    try:
        return _pair(text(f"frontdesk.service_{service}"))
    except KeyError:
        return [service.upper(), service.upper()]


def _bad(detail: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": "bad_request", "detail": detail}),
                              content_type="application/json")


class KioskControl:
    """The kiosk's local HTTP endpoint and touch page (see the module doc)."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.boot = uuid.uuid4().hex[:12]  # a new agent, a new id: the page reloads itself
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._outbox: dict[web.WebSocketResponse, asyncio.Queue[dict[str, Any]]] = {}

    async def start(self, host: str, port: int) -> str:
        host = loopback.require_loopback("kiosk.control_host", host)
        app = web.Application(client_max_size=limits.CONTROL_MAX_BODY,
                              middlewares=[self._local_only])
        for path in PAGE_FILES:
            app.router.add_get(path, self._file)
        app.router.add_get("/theme.css", self._theme)
        app.router.add_get("/state", self._state)
        app.router.add_get("/events", self._events)
        app.router.add_post("/ticket", self._ticket)
        app.router.add_post("/check-in", self._check_in)
        app.router.add_post("/scan", self._scan)
        app.router.add_post("/reprint", self._reprint)
        app.router.add_post("/help", self._help)
        app.router.add_get("/status", self._status)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- pushing to the page ----------------------------------------------------------------

    def push(self, kind: str, result: KioskResult | None = None) -> None:
        """Tell every open page: ``state`` changed, or a ``result`` to show."""
        event: dict[str, Any] = {"type": kind}
        if kind == "state":
            event["state"] = self.live_state()
        elif result is not None:
            event["result"] = result.as_json()
        for queue in self._outbox.values():
            if queue.full():  # a page that does not read: it gets the newest only
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    async def _close_sockets(self, app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"kiosk agent stopping")

    # -- the page ---------------------------------------------------------------------------

    @web.middleware
    async def _local_only(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not loopback.is_loopback(request.remote or ""):
            raise web.HTTPForbidden(text="the kiosk control endpoint is for this machine only")
        response: web.StreamResponse = await handler(request)
        return response

    async def _file(self, request: web.Request) -> web.Response:
        name, ctype = PAGE_FILES[request.path]
        body = resources.files("frontdesk.kiosk_page").joinpath(name).read_text("utf-8")
        return web.Response(text=body, content_type=ctype, charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def _theme(self, request: web.Request) -> web.Response:
        config = self.kiosk.config
        return web.Response(text=themes.css(config.theme, config.text_size),
                            content_type="text/css", headers={"Cache-Control": "no-store"})

    def live_state(self) -> dict[str, Any]:
        kiosk = self.kiosk
        return {
            "connected": kiosk.client.connected,
            "health": dict(kiosk.health.parts),
            "printer_out": kiosk.health.parts.get("printer") == DeviceHealth.ERROR,
        }

    async def _state(self, request: web.Request) -> web.Response:
        config = self.kiosk.config
        return web.json_response({
            "boot": self.boot,
            "labels": {name: _pair(text(key)) for name, key in PAGE_LABELS.items()},
            "services": [{"key": s, "label": service_label(s)} for s in config.services],
            "priorities": [{"key": name, "label": _pair(text(f"frontdesk.priority_{name}"))}
                           for name in PRIORITY_NAMES],
            "settings": {"theme": config.theme, "text_size": config.text_size,
                         "result_s": limits.RESULT_SHOWN_S,
                         "idle_s": limits.PAGE_IDLE_S},
            **self.live_state(),
        })

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=limits.PAGE_HEARTBEAT_S, max_msg_size=1024)
        await ws.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=limits.PAGE_QUEUE)
        queue.put_nowait({"type": "hello", "boot": self.boot})
        queue.put_nowait({"type": "state", "state": self.live_state()})
        self._sockets.add(ws)
        self._outbox[ws] = queue
        pump = asyncio.get_running_loop().create_task(self._pump(ws, queue), name="kiosk-page")
        try:
            async for _msg in ws:  # the page sends nothing; reading notices it closing
                pass
        finally:
            self._sockets.discard(ws)
            self._outbox.pop(ws, None)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        return ws

    @staticmethod
    async def _pump(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            event = await queue.get()
            try:
                await asyncio.wait_for(ws.send_json(event), limits.PAGE_SEND_TIMEOUT_S)
            except (TimeoutError, ConnectionError) as exc:
                log.info("kiosk page dropped: %s", exc or "send timed out")
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER)
                return

    # -- the API ----------------------------------------------------------------------------

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise _bad("body must be a JSON object") from None
        if not isinstance(body, dict):
            raise _bad("body must be a JSON object")
        return body

    @staticmethod
    def _reply(result: KioskResult) -> web.Response:
        status = 200 if result.issued else 503 if result.outcome is Outcome.OFFLINE else 409
        return web.json_response(result.as_json(), status=status)

    async def _ticket(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        service, priority = body.get("service"), body.get("priority", "none")
        if not isinstance(service, str) or not service.strip() or not isinstance(priority, str):
            raise _bad('expected {"service": "jht", "priority": "none|elderly|disabled|pregnant"}')
        try:
            return self._reply(await self.kiosk.take_ticket(service, priority))
        except CommandError as exc:
            raise _bad(str(exc)) from None

    async def _code(self, request: web.Request) -> str:
        code = (await self._body(request)).get("code")
        if not isinstance(code, str):
            raise _bad('expected {"code": "BK-1001"}')
        return code

    async def _check_in(self, request: web.Request) -> web.Response:
        code = await self._code(request)
        try:
            return self._reply(await self.kiosk.check_in(code))
        except CommandError as exc:
            raise _bad(str(exc)) from None

    async def _scan(self, request: web.Request) -> web.Response:
        return self._reply(await self.kiosk.scanned(await self._code(request)))

    async def _reprint(self, request: web.Request) -> web.Response:
        result = await self.kiosk.reprint()
        if result is None:
            return web.json_response({"error": "nothing_to_reprint"}, status=404)
        return self._reply(result)

    async def _help(self, request: web.Request) -> web.Response:
        message = await self.kiosk.ask_help()
        return web.json_response({"text": {"id": message.id, "en": message.en,
                                           "key": message.key}})

    async def _status(self, request: web.Request) -> web.Response:
        kiosk = self.kiosk
        welcome = kiosk.client.welcome
        return web.json_response({
            "connected": kiosk.client.connected,
            "device": welcome.device_id if welcome else None,
            "health": dict(kiosk.health.parts), "detail": kiosk.health.detail,
            "services": list(kiosk.config.services),
            "last": None if kiosk.last is None else kiosk.last.as_json(),
        })
