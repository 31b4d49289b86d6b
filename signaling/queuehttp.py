"""The queue feature's HTTP side and its plug into the server: the admin routes (appointment
import, the queue's view, the day's figures) and :func:`setup`, which app.py calls."""

from __future__ import annotations

from aiohttp import web

from signaling import protocol as p
from signaling.branchqueue import MAX_UPLOAD_BYTES, QUEUE_KEY, RULES_KEY, BranchQueue
from signaling.problems import problem
from signaling.queue import appointments as appts
from signaling.queue import events as ev
from signaling.queue.errors import ImportFailed, QueueError
from signaling.queue.rules import QueueRules
from signaling.requestbody import read_bytes
from signaling.roleguard import GRANT_KEY, admin_only
from signaling.server import BranchServer


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


def setup(app: web.Application, server: BranchServer) -> None:
    rules = app.get(RULES_KEY) or QueueRules()
    queue = BranchQueue(server, rules, branch=server.config.branch,
                        hub_failover_s=server.config.hub_failover_s)
    app[QUEUE_KEY] = queue
    server.on_start.append(queue.start)
    server.on_stop.append(queue.stop)
    server.on_connect.append(queue.on_connect)
    server.on_disconnect.append(queue.on_disconnect)
    server.on_offline.append(queue.on_offline)
    server.on_status.append(queue.on_status)
    server.on_release.append(queue.on_release)
    server.on_pair.append(queue.on_pair)
    server.handlers.update({
        p.ServiceRequest.TYPE: queue.on_service_request,
        p.TicketRequest.TYPE: queue.on_ticket_request,
        p.CheckIn.TYPE: queue.on_check_in,
        p.Claim.TYPE: queue.on_claim,
        p.BoothReady.TYPE: queue.on_booth_ready,
        p.Capacity.TYPE: queue.on_capacity,
        p.Focus.TYPE: queue.on_focus,
        p.SessionEnd.TYPE: queue.on_session_end,
        p.Transfer.TYPE: queue.on_transfer,
        p.Park.TYPE: queue.on_park,
    })
    app.router.add_post("/api/queue/appointments", import_appointments)
    app.router.add_get("/api/queue", queue_view)
    app.router.add_get("/api/stats", queue_stats)

