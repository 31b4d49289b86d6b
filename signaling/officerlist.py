"""``GET /api/officers`` (admin): the officers, and the sign-in locks the manager must see.

Each officer (:func:`signaling.officers.list_officers`) is listed with ``locked``: the hubs
locked out now after five wrong PINs at which this officer's id was tried (``seconds_left``
of each lock), so a manager sees at once whose account someone was guessing and where.
``locked_hubs`` lists every lock, including those where only unknown ids were tried. A
feature of its own (``setup``), after :mod:`signaling.officers`, whose guard it reads.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from signaling.officers import OFFICERS_KEY, list_officers
from signaling.protocol import Role
from signaling.roleguard import grant_of


def view(rows: list[dict[str, Any]], locks: list[dict[str, Any]]) -> dict[str, Any]:
    """The list as JSON: every officer with the locks their id was tried under."""
    listed = []
    for row in rows:
        mine = [{"hub": lock["hub"], "seconds_left": lock["seconds_left"]}
                for lock in locks if row["id"] in lock["officers_tried"]]
        listed.append({**row, "locked": mine})
    return {"officers": listed, "locked_hubs": locks}


def setup(app: web.Application, server: Any) -> None:
    async def officers_with_locks(request: web.Request) -> web.Response:
        grant_of(request, Role.ADMIN, purpose="the officers list")
        records = await server.db.call(list_officers, server.db.sync)
        officers = request.app.get(OFFICERS_KEY)
        locks = officers.guard.locks(server.clock()) if officers is not None else []
        return web.json_response(view([r.as_json() for r in records], locks))

    app.router.add_get("/api/officers", officers_with_locks)
