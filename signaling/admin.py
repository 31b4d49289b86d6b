"""The admin API under ``/api``: devices, pairings, audit log and credentials.

Every call needs ``Authorization: Bearer <token>`` with a token of role ``admin``.
Errors are JSON: ``{"error": code, "detail": "..."}`` with a matching HTTP status
(:func:`signaling.problems.problem`); the role check is :mod:`signaling.roleguard`.
"""

from __future__ import annotations

import dataclasses

from aiohttp import web

from signaling import limits, tokens
from signaling.problems import problem
from signaling.protocol import ReleaseReason, Role
from signaling.requestbody import read_json_object
from signaling.roleguard import GRANT_KEY, admin_only
from signaling.server import SERVER_KEY

__all__ = ["GRANT_KEY", "add_routes", "admin_only"]


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise problem(400, "bad_request", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise problem(400, "bad_request", f"{name} must be between {lo} and {hi}")
    return value


@admin_only
async def list_devices(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    devices = await server.db.call(server.db.sync.devices)
    for device in devices:
        device["connected"] = device["id"] in server.connections
    return web.json_response({"devices": devices})


@admin_only
async def list_pairings(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    limit = _int_param(request, "limit", 200, 1, limits.AUDIT_PAGE_MAX)
    records = await server.db.call(server.db.sync.pairings, limit)
    return web.json_response({
        "active": [dataclasses.asdict(p) for p in server.book.pairings.values()],
        "waiting": list(server.book.waiting),
        "recent": [dataclasses.asdict(r) for r in records],
    })


@admin_only
async def release_pairing(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    pairing_id = request.match_info["pairing"]
    if not await server.release(pairing_id, ReleaseReason.ADMIN,
                                actor=request[GRANT_KEY].device_id):
        raise problem(404, "not_found", f"no active pairing {pairing_id}")
    return web.json_response({"released": pairing_id})


@admin_only
async def audit_log(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    after = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 100, 1, limits.AUDIT_PAGE_MAX)
    entries = await server.db.call(server.db.sync.audit_log, after, limit)
    return web.json_response({"entries": [dataclasses.asdict(e) for e in entries]})


@admin_only
async def issue_token(request: web.Request) -> web.Response:
    server = request.app[SERVER_KEY]
    body = await read_json_object(request, fields="role, id, ttl_s")
    role, device_id = body.get("role"), body.get("id")
    ttl = body.get("ttl_s", limits.DEFAULT_TOKEN_TTL_S)
    if role not in {r.value for r in Role}:
        raise problem(400, "bad_request", "role must be one of " + ", ".join(r.value for r in Role))
    if not isinstance(device_id, str):
        raise problem(400, "bad_request", "id must be a string")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= 10 * 365 * 86400:
        raise problem(400, "bad_request", "ttl_s must be a number of seconds up to ten years")
    known = server.roles.get(device_id)
    if known is not None and known.value != role:
        raise problem(409, "role_conflict",
                      f"{device_id} is a {known}; an id keeps its role (use a new id)")
    try:
        token = tokens.issue(server.secret, device_id, role, now=server.clock(), ttl_s=float(ttl))
    except ValueError as exc:
        raise problem(400, "bad_request", str(exc)) from None
    await server.db.call(server.db.sync.audit, server.clock(), request[GRANT_KEY].device_id,
                         "token_issued", device_id, {"role": role, "ttl_s": ttl})
    return web.json_response({"token": token, "id": device_id, "role": role})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/devices", list_devices)
    app.router.add_get("/api/pairings", list_pairings)
    app.router.add_post("/api/pairings/{pairing}/release", release_pairing)
    app.router.add_get("/api/audit", audit_log)
    app.router.add_post("/api/tokens", issue_token)
