"""The branch manager's page over HTTP, and :func:`setup`, the feature's plug (app.py).

    GET  /manager/                       the page (plain HTML/CSS/JS in signaling/managerpage/)
    POST /manager/api/sign-in            {"id", "pin"} -> session cookie (HttpOnly, SameSite=Strict)
    POST /manager/api/sign-out
    POST /manager/api/activity           the manager did something (keeps the session alive)
    GET  /manager/api/overview           queue, booths, officers, figures, alerts (JSON)
    GET  /manager/api/export.csv?from=YYYY-MM-DD&to=YYYY-MM-DD   one row per ticket
    GET  /manager/api/recordings[?case=]  a case's session recordings (no case: today's)
    GET  /manager/api/recordings/{id}     one recording in byte ranges (managerrecordings)

The page asks for the overview every :data:`~signaling.limits.MANAGER_POLL_S` with
``?background=1`` (docs/manager.md says why polling); those requests do not count as the
manager's activity, so an unattended page signs out after
:data:`~signaling.limits.MANAGER_IDLE_S`. Device health is also on ``/metrics``
(:mod:`signaling.devicemetrics`).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from signaling import managerrecordings, people
from signaling.devicemetrics import DeviceHealthCollector
from signaling.manager import MANAGER_KEY, ManagerPage
from signaling.managersessions import COOKIE
from signaling.problems import problem
from signaling.requestbody import read_json_object
from signaling.server import BranchServer

PAGE_DIR = Path(__file__).with_name("managerpage")
NO_STORE = {"Cache-Control": "no-store"}


def _page_of(request: web.Request) -> ManagerPage:
    return request.app[MANAGER_KEY]


def _credentials(request: web.Request) -> tuple[str | None, str]:
    return request.cookies.get(COOKIE), request.headers.get("Authorization", "")


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE_DIR / "index.html",
                            headers={**NO_STORE, "Content-Security-Policy": "default-src 'self'"})


async def to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/manager/")


async def sign_in(request: web.Request) -> web.Response:
    body = await read_json_object(request, fields="id, pin")
    try:
        manager = people.check_id(body.get("id"))
        pin = body.get("pin")
        if not isinstance(pin, str) or not pin:
            raise people.BadManager("pin is required")
    except people.BadManager as exc:
        raise problem(400, "bad_request", str(exc)) from None
    service = _page_of(request)
    token = await service.sign_in(manager, pin, f"address {request.remote}")
    response = web.json_response({"manager": manager, "idle_s": service.sessions.idle_s},
                                 headers=NO_STORE)
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/manager",
                        secure=request.secure)  # Secure whenever the page is on HTTPS
    return response


async def sign_out(request: web.Request) -> web.Response:
    manager = await _page_of(request).sign_out(request.cookies.get(COOKIE))
    response = web.json_response({"signed_out": manager}, headers=NO_STORE)
    response.del_cookie(COOKIE, path="/manager")
    return response


async def activity(request: web.Request) -> web.Response:
    session = _page_of(request).session(*_credentials(request), touch=True)
    return web.json_response({"manager": session.manager}, headers=NO_STORE)


async def overview(request: web.Request) -> web.Response:
    service = _page_of(request)
    session = await service.active(*_credentials(request),
                                   touch=request.query.get("background") != "1")
    return web.json_response(await service.overview(session), headers=NO_STORE)


async def export(request: web.Request) -> web.Response:
    service = _page_of(request)
    session = await service.active(*_credentials(request), touch=True)
    filename, text = await service.export(session, request.query.get("from"),
                                          request.query.get("to"))
    return web.Response(
        text=text, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE})


def setup(app: web.Application, server: BranchServer) -> None:
    service = ManagerPage(server, app)
    app[MANAGER_KEY] = service
    server.on_start.append(service.start)
    server.on_status.append(service.on_status)
    server.metrics.registry.register(DeviceHealthCollector(lambda: service.health))
    app.router.add_get("/manager", to_page)
    app.router.add_get("/manager/", page)
    app.router.add_static("/manager/static", PAGE_DIR)
    app.router.add_post("/manager/api/sign-in", sign_in)
    app.router.add_post("/manager/api/sign-out", sign_out)
    app.router.add_post("/manager/api/activity", activity)
    app.router.add_get("/manager/api/overview", overview)
    app.router.add_get("/manager/api/export.csv", export)
    managerrecordings.add_routes(app)
