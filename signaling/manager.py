"""Branch server feature: the branch manager's page, for a signed-in manager.

    GET  /manager/                       the page (plain HTML/CSS/JS in signaling/managerpage/)
    POST /manager/api/sign-in            {"id", "pin"} -> session cookie (HttpOnly, SameSite=Strict)
    POST /manager/api/sign-out
    POST /manager/api/activity           the manager did something (keeps the session alive)
    GET  /manager/api/overview           queue, booths, officers, figures, alerts (JSON)
    GET  /manager/api/export.csv?from=YYYY-MM-DD&to=YYYY-MM-DD   one row per ticket

Managers are people with a PIN (:mod:`signaling.people`), never a bearer token: a request
carrying ``Authorization`` is refused whatever its token. The page asks for the overview every
:data:`~signaling.limits.MANAGER_POLL_S` (docs/manager.md says why polling); those background
requests do not count as the manager's activity, so an unattended page signs out after
:data:`~signaling.limits.MANAGER_IDLE_S`. Device health is also on ``/metrics``
(:mod:`signaling.devicemetrics`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import web

from signaling import limits, people, tokens
from signaling import managerexport as mx
from signaling import managerviews as mv
from signaling import protocol as p
from signaling.branchqueue import QUEUE_KEY, BranchQueue
from signaling.devicemetrics import DeviceHealthCollector
from signaling.errors import TokenError
from signaling.managersessions import COOKIE, NoSession, Session, Sessions
from signaling.problems import problem
from signaling.queue import decisions as de
from signaling.requestbody import read_json_object
from signaling.server import BranchServer, Connection
from signaling.store import Store

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).with_name("managerpage")
MANAGER_KEY: web.AppKey[ManagerPage] = web.AppKey("bilik_manager_page")
WATCHED = ("appointment_at_risk", "document_status")  # audit actions the page follows


# -- store functions (on the store's thread) --------------------------------------------------


def _watched_since(store: Store, after_seq: int, since: float
                   ) -> tuple[int, list[dict[str, Any]]]:
    """Audit rows the page follows after ``after_seq`` (and not before ``since``), each
    document rescan with the ticket and service of its session."""
    rows = store.execute(
        "SELECT seq, at, action, subject, detail FROM audit WHERE seq > ? AND at >= ? "
        f"AND action IN ({','.join('?' * len(WATCHED))}) ORDER BY seq",
        (after_seq, since, *WATCHED)).fetchall()
    last = store.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]
    out = []
    for seq, at, action, subject, detail in rows:
        entry = {"seq": seq, "at": at, "action": action, "subject": subject,
                 "detail": json.loads(detail)}
        if action == "document_status":
            if entry["detail"].get("status") != "rescan":
                continue
            entry["ticket"], entry["service"] = _session_of(store, subject)
        out.append(entry)
    return max(int(last), after_seq), out


def _session_of(store: Store, doc_id: str) -> tuple[str, str]:
    try:
        row = store.execute(
            "SELECT p.ticket, p.service FROM documents d JOIN pairings p ON p.id = d.pairing "
            "WHERE d.id = ?", (doc_id,)).fetchone()
    except sqlite3.OperationalError:  # no documents feature in this server
        return "", ""
    return (str(row[0]), str(row[1])) if row else ("", "")


def _journal_range(store: Store, start: float, end: float) -> list[tuple[float, str]]:
    return [(float(r[0]), str(r[1])) for r in store.execute(
        "SELECT at, decisions FROM queue_journal WHERE at >= ? AND at < ? ORDER BY seq",
        (start, end)).fetchall()]


def _journal_seq(store: Store) -> int:
    return int(store.execute("SELECT COALESCE(MAX(seq), 0) FROM queue_journal").fetchone()[0])


class ManagerPage:
    def __init__(self, server: BranchServer, app: web.Application) -> None:
        self.server = server
        self.app = app
        self.monotonic = server.monotonic  # sessions and lock-outs; tests move it on
        self.sessions = Sessions()
        self.guard = people.SignInGuard()  # per manager id
        self.address_guard = people.SignInGuard(max_failures=limits.MANAGER_ADDRESS_FAILURES)
        # One attempt per id at a time (a burst of guesses cannot outrun the count), and few
        # scrypt checks at once (a flood cannot take every thread).
        self._attempts: dict[str, tuple[asyncio.Lock, int]] = {}  # id -> lock, its users
        self._checks = asyncio.Semaphore(limits.MANAGER_SIGN_IN_CONCURRENT)
        self.health: dict[str, dict[str, str]] = {}  # device -> part -> health word
        self.fault_since: dict[tuple[str, str], float] = {}
        self.audit_seq = 0
        self.sla: list[dict[str, Any]] = []
        self.rescans: list[dict[str, Any]] = []
        self._figures: tuple[tuple[float, int, int], dict[str, Any]] | None = None

    @property
    def queue(self) -> BranchQueue:
        return self.app[QUEUE_KEY]

    async def start(self) -> None:
        db = self.server.db
        await db.call(people.migrate, db.sync)
        for device in await db.call(db.sync.devices):
            self._note_health(device["id"], device["health"], device["last_seen"])
        self.audit_seq, entries = await db.call(_watched_since, db.sync, 0,
                                                self.queue.day_start())
        self._keep(entries)

    def _note_health(self, device: str, health: dict[str, str], at: float) -> None:
        self.health[device] = dict(health)
        for kind, word in health.items():
            if mv.part_health(kind, word).fault:
                self.fault_since.setdefault((device, kind), at)
            else:
                self.fault_since.pop((device, kind), None)
        for key in [k for k in self.fault_since if k[0] == device and k[1] not in health]:
            del self.fault_since[key]

    async def on_status(self, conn: Connection, msg: p.Status) -> None:
        self._note_health(conn.device_id, dict(msg.health), self.server.clock())

    def _keep(self, entries: list[dict[str, Any]]) -> None:
        """Today's SLA alerts (the newest MANAGER_ALERTS_MAX) and rescans."""
        day = self.queue.day_start()
        for e in entries:
            (self.sla if e["action"] == "appointment_at_risk" else self.rescans).append(e)
        self.sla = [e for e in self.sla if e["at"] >= day][-limits.MANAGER_ALERTS_MAX:]
        self.rescans = [e for e in self.rescans if e["at"] >= day]

    # -- sessions ---------------------------------------------------------------------------

    def session(self, request: web.Request, *, touch: bool) -> Session:
        """The request's manager session, or an HTTP error saying why there is none."""
        header = request.headers.get("Authorization", "")
        if header:
            raise problem(
                403, "manager_sign_in_required",
                f"the manager's page takes a manager's sign-in, not {self._what(header)}: "
                "tokens are for devices and scripts (sign in with your manager id and PIN)")
        try:
            session = self.sessions.check(request.cookies.get(COOKIE), self.monotonic(),
                                          touch=touch)
        except NoSession as exc:
            raise problem(401, exc.why.value, exc.detail) from None
        return session

    def _what(self, header: str) -> str:
        try:
            grant = tokens.verify(self.server.secret, header.removeprefix("Bearer ").strip(),
                                  now=self.server.clock())
        except TokenError:
            return "a bearer credential"
        return f"an {grant.role} token" if grant.role.value[0] in "aeiou" else \
            f"a {grant.role} token"

    async def _active(self, request: web.Request, *, touch: bool) -> Session:
        session = self.session(request, touch=touch)
        db = self.server.db
        if not await db.call(people.is_active, db.sync, session.manager):
            self.sessions.close_manager(session.manager)
            raise problem(401, "account_disabled",
                           f"manager {session.manager} is disabled; ask the branch's "
                           "administrator")
        return session

    async def sign_in(self, request: web.Request) -> web.Response:
        body = await read_json_object(request, fields="id, pin")
        try:
            manager = people.check_id(body.get("id"))
            pin = body.get("pin")
            if not isinstance(pin, str) or not pin:
                raise people.BadManager("pin is required")
        except people.BadManager as exc:
            raise problem(400, "bad_request", str(exc)) from None
        lock, users = self._attempts.get(manager, (asyncio.Lock(), 0))
        self._attempts[manager] = lock, users + 1
        try:
            async with lock:
                await self._check(manager, pin, f"address {request.remote}")
        finally:
            lock, users = self._attempts[manager]
            if users == 1:
                del self._attempts[manager]
            else:
                self._attempts[manager] = lock, users - 1
        self.guard.succeeded(manager)
        token = self.sessions.open(manager, self.monotonic())
        db = self.server.db
        await db.call(db.sync.audit, self.server.clock(), manager, "manager_signed_in", manager,
                      {})
        response = web.json_response({"manager": manager, "idle_s": self.sessions.idle_s},
                                     headers={"Cache-Control": "no-store"})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/manager",
                            secure=request.secure)  # Secure whenever the page is on HTTPS
        return response

    async def _check(self, manager: str, pin: str, address: str) -> None:
        """Returns if the PIN is right; else raises the refusal (wrong, or locked out)."""
        for guard, who in ((self.guard, manager), (self.address_guard, address)):
            wait = guard.locked(who, self.monotonic())
            if wait:
                raise _locked_out(f"too many wrong PINs for {who}; try again in "
                                  f"{int(wait) + 1} s", wait)
        db = self.server.db
        stored = await db.call(people.credential, db.sync, manager)
        async with self._checks:
            right = await asyncio.to_thread(people.matches, pin, stored)
        if right:
            return
        now = self.monotonic()
        left = self.guard.failed(manager, now)
        self.address_guard.failed(address, now)
        await db.call(db.sync.audit, self.server.clock(), manager, "manager_sign_in_failed",
                      manager, {"locked": left == 0, "from": address})
        if left == 0:
            minutes = self.guard.lockout_s / 60
            raise _locked_out(f"too many wrong PINs for {manager}: locked for {minutes:g} "
                              "minutes", self.guard.lockout_s)
        raise problem(401, "wrong_credential",
                       f"unknown manager id or wrong PIN ({left} tries left before a lock-out)")

    async def sign_out(self, request: web.Request) -> web.Response:
        manager = self.sessions.close(request.cookies.get(COOKIE))
        if manager is not None:
            await self.server.db.call(self.server.db.sync.audit, self.server.clock(), manager,
                                      "manager_signed_out", manager, {})
        response = web.json_response({"signed_out": manager})
        response.del_cookie(COOKIE, path="/manager")
        return response

    async def activity(self, request: web.Request) -> web.Response:
        session = self.session(request, touch=True)
        return web.json_response({"manager": session.manager})

    # -- views ------------------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        session = await self._active(request, touch=request.query.get("background") != "1")
        db = self.server.db
        now = self.server.clock()
        self.audit_seq, entries = await db.call(_watched_since, db.sync, self.audit_seq,
                                                self.queue.day_start())
        self._keep(entries)
        queue = self.queue
        view = queue.view()
        services = dict(queue.rules.services)
        devices = await db.call(db.sync.devices)
        for d in devices:
            d["connected"] = d["id"] in self.server.connections
        pairings = [{"booth": x.booth, "hub": x.hub, "ticket": x.ticket, "number": x.number}
                    for x in self.server.book.pairings.values()]
        numbers = {tid: t.number for tid, t in queue.scheduler.tickets.items()}
        booth_list = mv.booths(view, devices, numbers)
        others = mv.other_devices(devices)
        since = dict(self.fault_since)
        for d in devices:
            since.setdefault((d["id"], ""), d["last_seen"])
        return web.json_response({
            "manager": session.manager, "branch": queue.branch, "now": now,
            "day_start": queue.day_start(), "utc_offset_min": queue.rules.utc_offset_min,
            "poll_s": limits.MANAGER_POLL_S,
            "activity_s": limits.MANAGER_ACTIVITY_REPORT_S, "idle_s": self.sessions.idle_s,
            "services": services,
            "queue": mv.queue_by_service(view, services),
            "booths": booth_list, "devices": others,
            "officers": mv.officers(view, pairings, services),
            "figures": await self.figures(),
            "alerts": mv.alerts(booth_list=booth_list, others=others, fault_since=since,
                                sla=self.sla, unserved_services=mv.unserved(view),
                                parked=mv.parked_overdue(view),
                                waiting=view.get("waiting", []), now=now),
        }, headers={"Cache-Control": "no-store"})

    async def figures(self) -> dict[str, Any]:
        """Today's figures: ``/api/stats`` from local midnight, recomputed only when the
        journal or the rescans changed."""
        db = self.server.db
        day = self.queue.day_start()
        key = (day, await db.call(_journal_seq, db.sync), len(self.rescans))
        if self._figures is None or self._figures[0] != key:
            stats = await self.queue.stats(day)
            rescans: dict[str, int] = {}
            for e in self.rescans:
                rescans[e["service"]] = rescans.get(e["service"], 0) + 1
            rescans.pop("", None)
            self._figures = key, mv.figures(stats, rescans, self.queue.rules.services)
        return self._figures[1]

    async def export(self, request: web.Request) -> web.StreamResponse:
        session = await self._active(request, touch=True)
        queue = self.queue
        try:
            span = mx.parse_range(request.query.get("from"), request.query.get("to"),
                                  utc_offset_min=queue.rules.utc_offset_min)
        except mx.BadRange as exc:
            raise problem(400, "bad_range", str(exc)) from None
        db = self.server.db
        raw = await db.call(_journal_range, db.sync, span.start, span.end)
        _, entries = await db.call(_watched_since, db.sync, 0, span.start)
        per_ticket: dict[str, int] = {}
        for e in entries:
            if e["action"] == "document_status" and e["at"] < span.end and e.get("ticket"):
                per_ticket[e["ticket"]] = per_ticket.get(e["ticket"], 0) + 1
        journal = ((at, [de.Decision.from_dict(x) for x in json.loads(ds)]) for at, ds in raw)
        rows = mx.ticket_rows(journal, utc_offset_min=queue.rules.utc_offset_min,
                              rescans=per_ticket)
        await db.call(db.sync.audit, self.server.clock(), session.manager, "manager_export",
                      span.filename, {"rows": len(rows)})
        return web.Response(
            text=mx.to_csv(rows), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{span.filename}"',
                     "Cache-Control": "no-store"})

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(PAGE_DIR / "index.html",
                                headers={"Cache-Control": "no-store",
                                         "Content-Security-Policy": "default-src 'self'"})


def _locked_out(detail: str, wait_s: float) -> web.HTTPException:
    refusal = problem(429, "locked_out", detail)
    refusal.headers["Retry-After"] = str(int(wait_s) + 1)
    return refusal


async def _to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/manager/")


def setup(app: web.Application, server: BranchServer) -> None:
    page = ManagerPage(server, app)
    app[MANAGER_KEY] = page
    server.on_start.append(page.start)
    server.on_status.append(page.on_status)
    server.metrics.registry.register(DeviceHealthCollector(lambda: page.health))
    app.router.add_get("/manager", _to_page)
    app.router.add_get("/manager/", page.page)
    app.router.add_static("/manager/static", PAGE_DIR)
    app.router.add_post("/manager/api/sign-in", page.sign_in)
    app.router.add_post("/manager/api/sign-out", page.sign_out)
    app.router.add_post("/manager/api/activity", page.activity)
    app.router.add_get("/manager/api/overview", page.overview)
    app.router.add_get("/manager/api/export.csv", page.export)
