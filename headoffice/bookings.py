"""The day's bookings of each branch: imported at the head office (``bilik headoffice
bookings import``), pulled by each branch (``GET /api/bookings?day=YYYY-MM-DD``, signed by
the branch; it sees only its own). A participant may book any branch; the central list is
split by the ``branch`` field of each booking.

A booking is ``{"code", "service", "slot", "branch", "name"?}`` as the branch's appointment
import takes it (signaling/queue/appointments.py), which checks each field again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import asyncpg
from aiohttp import web

from headoffice import limits
from headoffice.database import check_branch_id
from headoffice.errors import BadInput
from headoffice.problems import problem

CODE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9-]{3,31}\Z")
DAY_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")


def parse_day(text: str) -> dt.date:
    if not DAY_RE.fullmatch(text):
        raise BadInput(f"day {text[:20]!r} must be YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"day {text!r} is not a date") from None


def parse_import(raw: bytes, default_branch: str | None) -> list[tuple[str, str, dt.date,
                                                                       dict[str, Any]]]:
    """(branch, code, day, booking) of each booking in a JSON list, or :class:`BadInput`
    naming the row and field."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadInput(f"the bookings file is not JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("appointments")
    if not isinstance(data, list):
        raise BadInput("the bookings file must be a JSON list (or {\"appointments\": [...]})")
    out = []
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise BadInput(f"booking {n}: not an object")
        branch = item.get("branch", default_branch)
        if not isinstance(branch, str):
            raise BadInput(f"booking {n}: no branch (give --branch or a branch field)")
        check_branch_id(branch)
        code, slot = item.get("code"), item.get("slot")
        if not isinstance(code, str) or not CODE_RE.fullmatch(code):
            raise BadInput(f"booking {n}: code must be 4-32 letters, digits or '-'")
        if not isinstance(slot, str) or len(slot) < 10:
            raise BadInput(f"booking {n}: slot must be an ISO 8601 time")
        try:
            day = parse_day(slot[:10])
        except BadInput as exc:
            raise BadInput(f"booking {n}: slot: {exc}") from None
        if not isinstance(item.get("service"), str):
            raise BadInput(f"booking {n}: service is missing")
        out.append((branch, code, day, {**item, "branch": branch}))
    return out


async def import_bookings(pool: asyncpg.Pool, rows: list[tuple[str, str, dt.date,
                                                               dict[str, Any]]]) -> int:
    async with pool.acquire() as conn, conn.transaction():
        for branch, code, day, booking in rows:
            await conn.execute(
                "INSERT INTO bookings (branch, code, day, appointment) VALUES ($1, $2, $3, "
                "$4::jsonb) ON CONFLICT (branch, code) DO UPDATE SET day=excluded.day, "
                "appointment=excluded.appointment, imported=now()",
                branch, code, day, json.dumps(booking))
    return len(rows)


async def serve(request: web.Request, pool: asyncpg.Pool, branch: str) -> web.Response:
    try:
        day = parse_day(request.query.get("day", ""))
    except BadInput as exc:
        raise problem(400, "bad_request", str(exc)) from None
    rows = await pool.fetch("SELECT appointment FROM bookings WHERE branch=$1 AND day=$2 "
                            "ORDER BY code LIMIT $3", branch, day, limits.MAX_BOOKINGS_PER_DAY)
    return web.json_response({"branch": branch, "day": day.isoformat(),
                              "appointments": [json.loads(r["appointment"]) for r in rows]})
