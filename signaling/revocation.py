"""Revocation: one device cut off at once, and kept out.

``bilik server revoke booth-01`` (a person on the server machine) marks every certificate
issued to ``booth-01`` revoked and records the id's revocation time, in the branch database,
audited with the person's name. The running server reads the list every
:data:`~signaling.limits.REVOCATION_POLL_S`: a connected ``booth-01`` is closed with
:data:`~signaling.limits.CLOSE_REVOKED`, and every new connection is checked against the list
(:meth:`Revocations.refusal`), so the booth cannot come back, with its certificate or with a
token issued before the revocation. Enrolling the id again gives it a new certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from signaling import limits
from signaling.enrolment import FEATURE, STEPS, open_store
from signaling.revocationlist import Revocations
from signaling.store import Store

if TYPE_CHECKING:
    from signaling.server import BranchServer

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Revoked:
    device_id: str
    certificates: int


def load(store: Store) -> Revocations:
    serials = {row[0] for row in store.execute(
        "SELECT serial FROM certificates WHERE revoked IS NOT NULL")}
    devices: dict[str, float] = {}
    for device, at in store.execute("SELECT device, at FROM device_revocations ORDER BY seq"):
        devices[device] = float(at)
    return Revocations(serials, devices)


def revoke(store: Store, device_id: str, *, by: str, now: float) -> Revoked:
    """Revoke every certificate of ``device_id`` and its older tokens; audited."""

    def work(db: sqlite3.Connection) -> Revoked:
        known = db.execute("SELECT 1 FROM certificates WHERE device=? UNION "
                           "SELECT 1 FROM enrolment_codes WHERE device=? UNION "
                           "SELECT 1 FROM devices WHERE id=?",
                           (device_id, device_id, device_id)).fetchone()
        if known is None:
            raise ValueError(f"no device {device_id} is known to this branch")
        count = db.execute("UPDATE certificates SET revoked=?, revoked_by=? "
                           "WHERE device=? AND revoked IS NULL", (now, by, device_id)).rowcount
        # An enrolment code not used yet dies with it (a stolen code is no way back in).
        codes = db.execute("UPDATE enrolment_codes SET expires=? WHERE device=? AND used IS "
                           "NULL AND expires > ?", (now, device_id, now)).rowcount
        db.execute("INSERT INTO device_revocations (device, at, by) VALUES (?, ?, ?)",
                   (device_id, now, by))
        store._audit(db, now, by, "device_revoked", device_id,
                     {"certificates": count, "codes_cancelled": codes})
        return Revoked(device_id, count)

    return store.transaction(work)


def revoke_offline(data_dir: Path, device_id: str, by: str) -> Revoked:
    """``bilik server revoke ID``: straight into the branch database; the running server
    sees it within :data:`~signaling.limits.REVOCATION_POLL_S`."""
    store = open_store(data_dir)
    try:
        return revoke(store, device_id, by=by, now=time.time())
    finally:
        store.close()


async def cut_off(server: BranchServer) -> int:
    """Close every live connection the list now refuses; returns how many."""
    cut = 0
    for conn in list(server.connections.values()):
        reason = server.revocations.refusal(conn.grant)
        if reason is None or conn.ws.closed:
            continue
        conn.closing = True
        cut += 1
        server.metrics.disconnects.labels("revoked").inc()
        log.warning("revoked device cut off", extra={"fields": {"device": conn.device_id}})
        with contextlib.suppress(Exception):
            await conn.ws.close(code=limits.CLOSE_REVOKED, message=reason[:120].encode())
    return cut


def setup(app: web.Application, server: BranchServer) -> None:
    state: dict[str, asyncio.Task[None]] = {}

    async def watch() -> None:
        while True:
            await asyncio.sleep(limits.REVOCATION_POLL_S)
            try:
                server.revocations = await server.db.call(load, server.db.sync)
            except Exception:  # the store is closing, or busy: next round
                log.debug("revocation list not read", exc_info=True)
                continue
            await cut_off(server)

    async def start() -> None:
        await server.db.call(server.db.sync.migrate_feature, FEATURE, STEPS)
        server.revocations = await server.db.call(load, server.db.sync)
        state["watch"] = asyncio.get_running_loop().create_task(watch(), name="revocations")

    async def stop() -> None:
        task = state.pop("watch", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    server.on_start.insert(0, start)
    server.on_stop.insert(0, stop)
