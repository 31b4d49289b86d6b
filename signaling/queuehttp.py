"""The queue's admin routes: appointment import, the queue's view, and the day's figures."""

from __future__ import annotations

from aiohttp import web

from signaling.branchqueue import MAX_UPLOAD_BYTES, QUEUE_KEY
from signaling.problems import problem
from signaling.queue import appointments as appts
from signaling.queue import events as ev
from signaling.queue.errors import ImportFailed, QueueError
from signaling.requestbody import read_bytes
from signaling.roleguard import GRANT_KEY, admin_only


@admin_only
async def import_appointments(request: web.Request) -> web.Response:
    who = request[GRANT_KEY].device_id
    queue = request.app[QUEUE_KEY]
    body = await read_bytes(request, max_bytes=MAX_UPLOAD_BYTES)
    ctype = request.content_type
    fmt = "csv" if "csv" in ctype else "json" if "json" in ctype else ""
    if not fmt:
        raise problem(415, "unsupported_type",
                           "send Content-Type: application/json or text/csv")
    try:
        result = appts.parse(body, fmt, branch=queue.branch, services=queue.rules.services,
                             utc_offset_min=queue.rules.utc_offset_min)
    except ImportFailed as exc:
        rows = [{"row": r, "field": f, "problem": m} for r, f, m in exc.rows]
        raise problem(400, "bad_import", str(exc), rows=rows) from None
    try:
        await queue.handle(ev.AppointmentsBooked(
            bookings=tuple(a.booking() for a in result.appointments)), actor=who)
    except QueueError as exc:
        raise problem(400, exc.code, exc.detail) from None
    return web.json_response({"imported": len(result.appointments),
                              "other_branches": result.other_branches})


@admin_only
async def queue_view(request: web.Request) -> web.Response:
    return web.json_response(request.app[QUEUE_KEY].view())


@admin_only
async def queue_stats(request: web.Request) -> web.Response:
    queue = request.app[QUEUE_KEY]
    raw = request.query.get("since")
    since = 0.0
    if raw is not None:
        try:
            since = float(raw)
        except ValueError:
            raise problem(400, "bad_request", "since must be seconds since the epoch") from None
    return web.json_response(await queue.stats(since))
