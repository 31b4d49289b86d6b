"""``GET /api/officers`` (admin): the officers, and the sign-in locks the manager must see.

Each officer is listed with ``locked``: the hubs locked out now after five wrong PINs at
which this officer's id was tried (``seconds_left`` of each lock), so a manager sees at
once whose account someone was guessing and where. ``locked_hubs`` lists every lock,
including those where only unknown ids were tried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from signaling.protocol import Role
from signaling.roleguard import grant_of
from signaling.signinguard import SignInGuard
from signaling.store import Store

if TYPE_CHECKING:
    from signaling.server import BranchServer

GUARD_KEY: web.AppKey[SignInGuard] = web.AppKey("bilik_sign_in_guard", SignInGuard)


def officers(store: Store) -> list[dict[str, Any]]:
    rows = store.execute("SELECT id, name, active, created FROM officers ORDER BY id")
    return [{"id": r[0], "name": r[1], "active": bool(r[2]), "created": r[3]} for r in rows]


def view(rows: list[dict[str, Any]], locks: list[dict[str, Any]]) -> dict[str, Any]:
    """The list as JSON: every officer with the locks their id was tried under."""
    listed = []
    for row in rows:
        mine = [{"hub": lock["hub"], "seconds_left": lock["seconds_left"]}
                for lock in locks if row["id"] in lock["officers_tried"]]
        listed.append({**row, "locked": mine})
    return {"officers": listed, "locked_hubs": locks}


def add_routes(app: web.Application, server: BranchServer) -> None:
    async def list_officers(request: web.Request) -> web.Response:
        grant_of(request, Role.ADMIN, purpose="the officers list")
        rows = await server.db.call(officers, server.db.sync)
        guard = request.app.get(GUARD_KEY)
        locks = guard.locks(server.clock()) if guard is not None else []
        return web.json_response(view(rows, locks))

    app.router.add_get("/api/officers", list_officers)
