"""The officer's console over HTTP: static page, state feed, actions, media and documents.

Served by the hub beside ``/metrics`` on localhost (``metrics_host``, default 127.0.0.1):

* ``GET /console/`` the page (plain HTML, CSS and JavaScript in ``officer/console/``);
* ``GET /console/ws`` a WebSocket pushing the whole console state as JSON every
  ``STATE_PUSH_S`` and at once on a change; ``GET /console/api/state`` the same once;
* ``POST /console/api/...`` the officer's actions (sign-in, focus, decision, rescan,
  transfer, park), JSON in and out; errors are ``{"error": code, "detail": ...}``;
* ``POST /console/api/media`` the page's WebRTC offer (``{"sdp", "mids"}``), answered
  with the hub's (``{"sdp", "video": {max_bitrate, max_fps, width, height}}``): the
  officer's camera and microphone in, every booth's video and the focused booth's voice
  out (:mod:`officer.consolemedia`); a new offer replaces the page's earlier connection;
* ``POST /console/api/media/devices`` what the page has of its devices (camera,
  microphone, headset: ``ok``, ``missing``, ``busy``, ``refused``...), shown in the state;
* ``GET /console/documents/{id}`` a document from the branch server's store, fetched
  with the hub's credential. Media and documents are for a signed-in officer only.

A web page from elsewhere must not drive the console through the officer's browser:
every POST needs the ``X-Bilik-Console`` header (which a cross-site form cannot set and
a cross-site script cannot send without a CORS preflight that is never granted), and the
WebSockets refuse a foreign ``Origin``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import WSMsgType, web

from officer import checklists, limits
from officer.consolemedia import ConsoleMediaError, Mids
from officer.desk import DeskError
from officer.errors import OfficerError
from signaling.protocol import DEVICE_ID_RE, ID_RE

if TYPE_CHECKING:
    from officer.hub import Hub

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("console")
HEADER = "X-Bilik-Console"
HUB: web.AppKey[Any] = web.AppKey("bilik_console_hub")
SOCKETS: web.AppKey[set[Any]] = web.AppKey("bilik_console_sockets")


def state(hub: Hub) -> dict[str, Any]:
    """Everything the console shows, as JSON-ready data."""
    now = hub.clock()
    mono = hub.monotonic()
    booths = []
    for peer in sorted(hub.peers.values(), key=lambda p: p.slot):
        reading = peer.meter.reading(int(now * 1000))
        if peer.focused:
            since_attended: float | None = 0.0
        elif peer.last_attended is not None:
            since_attended = round(mono - peer.last_attended, 1)
        else:
            since_attended = None  # never attended: the console counts from pairing
        documents = [
            {"id": doc, **info,
             "name": checklists.document_label(str(info.get("kind") or "")) or doc,
             "read": peer.readings.get(doc)}
            for doc, info in peer.documents.items()
        ]
        booths.append({
            "booth": peer.booth,
            "slot": peer.slot,
            "pairing": peer.pairing,
            "state": peer.state.value,
            "focused": peer.focused,
            "ticket": peer.ticket,
            "number": peer.number,
            "service": peer.service or checklists.DEFAULT_CLAIM,
            "in_session_s": round(now - peer.paired_at, 1),
            "since_attended_s": since_attended,
            "hand": peer.hand,
            "speaking": peer.speaking,
            "parked": peer.parked,
            "sla": peer.sla_alert,
            "device_fault": peer.device_fault,
            "away_s": None if (away := peer.away_s()) is None else round(away, 1),
            "documents": documents,
            "documents_waiting": sum(1 for d in documents if d.get("status") == "uploaded"),
            "flags": peer.reading_flags,
            "fps": reading.fps,
            "p95_ms": reading.p95_ms,
            "case": hub.desk.cases.get(peer.booth, {}),
            "consent": peer.consent,
            "recording": peer.recording is not None,
            "verdict": hub.desk.verdicts.get(peer.booth),
        })
    return {
        "hub": hub.device_id,
        "officer": hub.desk.officer,
        "skills": hub.desk.skills,
        "signed_out_because": hub.desk.signed_out_because,
        "idle_sign_out_s": hub.config.console_idle_s,
        "activity_report_s": limits.ACTIVITY_REPORT_S,
        "signaling": hub.client.state.value,
        "focused": hub.focused,
        "max_booths": hub.config.max_booths,
        "slots_free": hub.free_slots,
        "booths": booths,
        "parked": parked_tiles(hub.desk.parked, now),
        "alerts": list(hub.desk.alerts),
        "queue": hub.desk.queue,
        "media": hub.officer_media(),
        "recordings": hub.recordings.status(),
        "now": now,
    }


def parked_tiles(parked: dict[str, dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """The cases the officer parked, each with its timer and whether it is past the
    server's limit (``limit_s``): the tile of a parked case stays on the console."""
    tiles = []
    for booth, case in sorted(parked.items()):
        since = case.get("since")
        limit = case.get("limit_s")
        waited = max(0.0, now - since) if isinstance(since, int | float) else 0.0
        tiles.append({
            "booth": booth, "ticket": case.get("ticket"), "number": case.get("number"),
            "service": case.get("service"), "parked_s": round(waited, 1), "limit_s": limit,
            "overdue": isinstance(limit, int | float) and waited > limit,
            "case": {"decisions": case.get("decisions", []), "events": case.get("events", [])},
        })
    return tiles


def _error(status: int, code: str, detail: str) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status)


def _hub(request: web.Request) -> Hub:
    hub: Hub = request.app[HUB]
    return hub


async def _body(request: web.Request) -> dict[str, Any]:
    if request.headers.get(HEADER) != "1":
        raise web.HTTPForbidden(
            text=json.dumps({"error": "forbidden", "detail": f"missing {HEADER} header"}),
            content_type="application/json",
        )
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_request", "detail": "body must be JSON"}),
            content_type="application/json",
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_request", "detail": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


def _text(body: dict[str, Any], name: str, *, max_chars: int = 2048, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > max_chars or (required and not value):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_request",
                             "detail": f"{name} must be a non-empty string of up to "
                                       f"{max_chars} characters" if required else
                                       f"{name} must be a string of up to {max_chars} characters"}),
            content_type="application/json",
        )
    return value


def _booth(request: web.Request) -> str:
    booth = request.match_info["booth"]
    if not DEVICE_ID_RE.match(booth):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "bad_request", "detail": "not a booth id"}),
            content_type="application/json",
        )
    return booth


async def _act(hub: Hub, action: Any) -> web.Response:
    hub.desk.touch()
    try:
        result = await action
    except DeskError as exc:
        status = {"forbidden": 403, "not_found": 404, "bad_request": 400, "unauthorized": 401,
                  "bad_message": 400,
                  "rate_limited": 429, "offline": 503, "timeout": 504}.get(exc.code, 409)
        return _error(status, exc.code, exc.detail)
    except OfficerError as exc:
        return _error(409, "refused", str(exc))
    hub.changed.set()
    return web.json_response({"ok": True, **(result or {})})


# -- handlers -------------------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def get_state(request: web.Request) -> web.Response:
    return web.json_response(state(_hub(request)))


async def get_checklists(request: web.Request) -> web.Response:
    return web.json_response(checklists.as_json())


async def sign_in(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    officer = _text(body, "officer", max_chars=64)
    pin = _text(body, "pin", max_chars=32)
    return await _act(hub, hub.desk.sign_in(officer, pin))


async def sign_out(request: web.Request) -> web.Response:
    await _body(request)
    hub = _hub(request)
    return await _act(hub, hub.desk.sign_out())


async def focus(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    booth = body.get("booth")
    if booth is not None and not (isinstance(booth, str) and DEVICE_ID_RE.match(booth)):
        return _error(400, "bad_request", "booth must be a booth id or null")
    if hub.desk.officer is None:
        return _error(403, "forbidden", "sign in first")
    return await _act(hub, hub.focus(booth))


async def decision(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    booth = _booth(request)
    outcome = _text(body, "outcome", max_chars=64)
    note = _text(body, "note", required=False)
    items = body.get("checklist", [])
    if not isinstance(items, list) or not all(
        isinstance(i, str) and 0 < len(i) <= 64 for i in items
    ) or len(items) > 32:
        return _error(400, "bad_request", "checklist must be a list of item keys")
    claim = body.get("claim", {})
    if not isinstance(claim, dict) or len(claim) > limits.CLAIM_FIELDS_MAX or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 32 and len(v) <= 128
        for k, v in claim.items()
    ):
        return _error(400, "bad_request", "claim must map nik, name, bank and account to text")

    async def act() -> dict[str, Any]:
        verdict = await hub.desk.decide(booth, outcome, note, items, claim)
        return {"reference": verdict.reference, "outcome": verdict.outcome}

    return await _act(hub, act())


async def rescan(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    document = _text(body, "document", max_chars=64)
    if not ID_RE.match(document):
        return _error(400, "bad_request", "not a document id")
    reason = _text(body, "reason", max_chars=512)
    return await _act(hub, hub.desk.rescan(_booth(request), document, reason))


async def transfer(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    to_hub = _text(body, "to_hub", max_chars=64, required=False)
    if to_hub and not DEVICE_ID_RE.match(to_hub):
        return _error(400, "bad_request", "to_hub must be a hub id")
    return await _act(hub, hub.desk.transfer(_booth(request), to_hub))


async def park(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    resume = body.get("resume", False)
    if not isinstance(resume, bool):
        return _error(400, "bad_request", "resume must be true or false")
    return await _act(hub, hub.desk.park(_booth(request), resume))


async def media_offer(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    if hub.desk.officer is None:
        return _error(403, "forbidden", "sign in first")
    sdp = _text(body, "sdp", max_chars=limits.CONSOLE_SDP_MAX_CHARS)
    try:
        mids = Mids.parse(body.get("mids"))
        answer = await hub.console_media.answer(sdp, mids)
    except ConsoleMediaError as exc:
        return _error(400, "bad_offer", str(exc))
    return web.json_response({"sdp": answer, "type": "answer", "video": {
        "max_bitrate": limits.OFFICER_VIDEO_MAX_BITRATE,
        "max_fps": limits.OFFICER_VIDEO_MAX_FPS,
        "width": limits.OFFICER_VIDEO_WIDTH,
        "height": limits.OFFICER_VIDEO_HEIGHT,
    }})


async def activity(request: web.Request) -> web.Response:
    """The officer used the keyboard or the mouse at the console (the page reports it at
    most every ``ACTIVITY_REPORT_S``): the idle sign-out counts from now."""
    await _body(request)
    hub = _hub(request)
    if hub.desk.officer is None:
        return _error(403, "forbidden", "sign in first")
    hub.desk.touch()
    return web.json_response({"ok": True})


DEVICE_STATES = ("ok", "missing", "busy", "refused", "ended", "unsupported", "error")


async def media_devices(request: web.Request) -> web.Response:
    body = await _body(request)
    hub = _hub(request)
    report: dict[str, str] = {}
    for device in ("camera", "microphone", "headset"):
        value = body.get(device)
        if value is None:
            continue
        if value not in DEVICE_STATES:
            return _error(400, "bad_request",
                          f"{device} must be one of {', '.join(DEVICE_STATES)}")
        report[device] = value
    hub.console_media.devices = report
    hub.changed.set()
    return web.json_response({"ok": True})


async def document(request: web.Request) -> web.Response:
    hub = _hub(request)
    doc = request.match_info["document"]
    if not ID_RE.match(doc):
        return _error(400, "bad_request", "not a document id")
    if hub.desk.officer is None:
        return _error(403, "forbidden", "sign in first")
    try:
        data, content_type = await hub.desk.fetch_document(doc)
    except DeskError as exc:
        status = 404 if exc.code == "http_404" else 502
        return _error(status, exc.code, exc.detail)
    return web.Response(body=data, content_type=content_type,
                        headers={"Cache-Control": "no-store"})


async def recording(request: web.Request) -> web.StreamResponse:
    """A session's recording from the branch server, for the console's ``<video>``: byte
    ranges are passed through, so the page can seek without the whole file."""
    hub = _hub(request)
    doc = request.match_info["document"]
    if not ID_RE.match(doc):
        return _error(400, "bad_request", "not a recording id")
    if hub.desk.officer is None:
        return _error(403, "forbidden", "sign in first")
    try:
        upstream = await hub.recordings.fetch(doc, request.headers.get("Range"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _error(502, "offline", f"the branch server: {exc or type(exc).__name__}")
    async with upstream:
        if upstream.status >= 400:
            return _error(upstream.status, "upstream", await upstream.text())
        out = web.StreamResponse(status=upstream.status, headers={
            k: v for k, v in upstream.headers.items()
            if k in ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges")})
        out.headers["Cache-Control"] = "no-store"
        await out.prepare(request)
        async for chunk in upstream.content.iter_chunked(64 * 1024):
            await out.write(chunk)
        await out.write_eof()
        return out


def _foreign(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin.split("://", 1)[-1] != request.host


async def feed(request: web.Request) -> web.StreamResponse:
    if _foreign(request):
        return _error(403, "forbidden", "the console feed is for the hub's own page")
    hub = _hub(request)
    ws = web.WebSocketResponse(heartbeat=limits.CONSOLE_WS_HEARTBEAT_S)
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    reader = asyncio.get_running_loop().create_task(_drain(ws), name="console-ws-reader")
    try:
        while not ws.closed and not reader.done():
            hub.changed.clear()
            await ws.send_str(json.dumps(state(hub)))
            await _until(hub.changed, reader)
    except (ConnectionError, RuntimeError):
        pass
    finally:
        await _end(ws, sockets, reader)
    return ws


async def _until(event: asyncio.Event, reader: asyncio.Task[None]) -> None:
    """Until ``event`` is set, the socket's reader ends, or ``STATE_PUSH_S`` passes."""
    waiter = asyncio.ensure_future(event.wait())
    await asyncio.wait({waiter, reader}, timeout=limits.STATE_PUSH_S,
                       return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter


async def _end(ws: web.WebSocketResponse, sockets: set[Any],
               reader: asyncio.Task[None]) -> None:
    sockets.discard(ws)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    await ws.close()


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            return


async def _close_sockets(app: web.Application) -> None:
    sockets: set[Any] = app[SOCKETS]
    for ws in list(sockets):
        with contextlib.suppress(Exception):
            await ws.close(code=1001, message=b"hub shutting down")


def add_routes(app: web.Application, hub: Hub) -> None:
    app[HUB] = hub
    app[SOCKETS] = set()
    app.on_shutdown.append(_close_sockets)
    r = app.router
    r.add_get("/", _redirect)
    r.add_get("/console", _redirect)
    r.add_get("/console/", index)
    r.add_static("/console/static/", STATIC, show_index=False)
    r.add_get("/console/ws", feed)
    r.add_get("/console/api/state", get_state)
    r.add_get("/console/api/checklists", get_checklists)
    r.add_post("/console/api/sign-in", sign_in)
    r.add_post("/console/api/sign-out", sign_out)
    r.add_post("/console/api/focus", focus)
    r.add_post("/console/api/booths/{booth}/decision", decision)
    r.add_post("/console/api/booths/{booth}/rescan", rescan)
    r.add_post("/console/api/booths/{booth}/transfer", transfer)
    r.add_post("/console/api/booths/{booth}/park", park)
    r.add_post("/console/api/activity", activity)
    r.add_post("/console/api/media", media_offer)
    r.add_post("/console/api/media/devices", media_devices)
    r.add_get("/console/documents/{document}", document)
    r.add_get("/console/recordings/{document}", recording)


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")
