"""Branch server feature: the branch manager's page, its service (the HTTP side is
:mod:`signaling.managerhttp`).

Managers are people with a PIN (:mod:`signaling.people`), never a bearer token: a request
carrying ``Authorization`` is refused whatever its token. Sessions are
:mod:`signaling.managersessions`; what the page shows is built by the pure
:mod:`signaling.managerviews` from the server's own state; the CSV is
:mod:`signaling.managerexport`. The service follows the health every device reports (for the
page's alerts and ``/metrics``) and the audit entries of the day (SLA alerts, rescans).
Refusals are :func:`signaling.problems.problem`, the server's one shape of an HTTP error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from signaling import limits, people, tokens
from signaling import managerexport as mx
from signaling import managerrecords as records
from signaling import managerviews as mv
from signaling import protocol as p
from signaling.branchqueue import QUEUE_KEY, BranchQueue
from signaling.errors import TokenError
from signaling.managersessions import NoSession, Session, Sessions
from signaling.officers import OFFICERS_KEY
from signaling.outbox import OUTBOX_KEY
from signaling.problems import problem
from signaling.queue import decisions as de
from signaling.server import BranchServer, Connection
from signaling.signinguard import SIGN_IN_LOCKOUT_S

log = logging.getLogger(__name__)

MANAGER_KEY: web.AppKey[ManagerPage] = web.AppKey("bilik_manager_page")


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
        self.receipts: list[dict[str, Any]] = []  # receipt_not_printed audit entries, today
        self._figures: tuple[tuple[float, int, int], dict[str, Any]] | None = None
        # The oldest unacknowledged evidence bundle older than this is an alert (tests lower it).
        self.outbox_alert_s = limits.MANAGER_OUTBOX_ALERT_S

    @property
    def queue(self) -> BranchQueue:
        return self.app[QUEUE_KEY]

    async def start(self) -> None:
        db = self.server.db
        await db.call(people.migrate, db.sync)
        for device in await db.call(db.sync.devices):
            self._note_health(device["id"], device["health"], device["last_seen"])
        self.audit_seq, entries = await db.call(records.watched_since, db.sync, 0,
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
        """Today's SLA alerts and receipts not printed (the newest MANAGER_ALERTS_MAX of
        each) and rescans."""
        day = self.queue.day_start()
        kept = {"appointment_at_risk": self.sla, "receipt_not_printed": self.receipts}
        for e in entries:
            kept.get(e["action"], self.rescans).append(e)
        self.sla = [e for e in self.sla if e["at"] >= day][-limits.MANAGER_ALERTS_MAX:]
        self.receipts = [e for e in self.receipts
                         if e["at"] >= day][-limits.MANAGER_ALERTS_MAX:]
        self.rescans = [e for e in self.rescans if e["at"] >= day]

    # -- sessions ---------------------------------------------------------------------------

    def session(self, cookie: str | None, authorization: str, *, touch: bool) -> Session:
        """The manager's session of this cookie, or the refusal saying why there is none."""
        if authorization:
            raise problem(
                403, "manager_sign_in_required",
                f"the manager's page takes a manager's sign-in, not {self._what(authorization)}"
                ": tokens are for devices and scripts (sign in with your manager id and PIN)")
        try:
            return self.sessions.check(cookie, self.monotonic(), touch=touch)
        except NoSession as exc:
            raise problem(401, exc.why.value, exc.detail) from None

    def _what(self, authorization: str) -> str:
        try:
            grant = tokens.verify(self.server.secret,
                                  authorization.removeprefix("Bearer ").strip(),
                                  now=self.server.clock())
        except TokenError:
            return "a bearer credential"
        article = "an" if grant.role.value[0] in "aeiou" else "a"
        return f"{article} {grant.role} token"

    async def active(self, cookie: str | None, authorization: str, *, touch: bool) -> Session:
        """:meth:`session`, and its manager still enabled (a disabled one is signed out)."""
        session = self.session(cookie, authorization, touch=touch)
        db = self.server.db
        if not await db.call(people.is_active, db.sync, session.manager):
            self.sessions.close_manager(session.manager)
            raise problem(401, "account_disabled",
                          f"manager {session.manager} is disabled; ask the branch's "
                          "administrator")
        return session

    async def sign_in(self, manager: str, pin: str, address: str) -> str:
        """A new session's cookie token for the right PIN; else the refusal (wrong PIN, or
        the id or the address locked out)."""
        lock, users = self._attempts.get(manager, (asyncio.Lock(), 0))
        self._attempts[manager] = lock, users + 1
        try:
            async with lock:
                await self._check(manager, pin, address)
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
                      {"from": address})
        return token

    async def _check(self, manager: str, pin: str, address: str) -> None:
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

    async def sign_out(self, cookie: str | None) -> str | None:
        manager = self.sessions.close(cookie)
        if manager is not None:
            db = self.server.db
            await db.call(db.sync.audit, self.server.clock(), manager, "manager_signed_out",
                          manager, {})
        return manager

    # -- views ------------------------------------------------------------------------------

    async def overview(self, session: Session) -> dict[str, Any]:
        """Everything the page shows, as of now."""
        db = self.server.db
        now = self.server.clock()
        self.audit_seq, entries = await db.call(records.watched_since, db.sync, self.audit_seq,
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
        backlog, oldest = await db.call(records.outbox_backlog, db.sync)
        outbox = self.app.get(OUTBOX_KEY)
        sent_to = outbox is not None and bool(outbox.urls)
        evidence = mv.outbox(backlog, oldest, now=now, alert_s=self.outbox_alert_s,
                             head_office=sent_to)
        return {
            "manager": session.manager, "branch": queue.branch, "now": now,
            "day_start": queue.day_start(), "utc_offset_min": queue.rules.utc_offset_min,
            "poll_s": limits.MANAGER_POLL_S,
            "activity_s": limits.MANAGER_ACTIVITY_REPORT_S, "idle_s": self.sessions.idle_s,
            "services": services,
            "queue": mv.queue_by_service(view, services),
            "booths": booth_list, "devices": others,
            "officers": mv.officers(view, pairings, services),
            "figures": await self.figures(),
            "outbox": evidence,
            "alerts": mv.alerts(booth_list=booth_list, others=others, fault_since=since,
                                sla=self.sla, unserved_services=mv.unserved(view),
                                parked=mv.parked_overdue(view),
                                waiting=view.get("waiting", []), backlog=evidence,
                                receipts=self.receipts,
                                sign_in_locks=self.sign_in_locks(), now=now),
        }

    def sign_in_locks(self) -> list[dict[str, Any]]:
        """The hubs whose officer sign-in is locked now (:mod:`signaling.officers`' guard)."""
        officers = self.app.get(OFFICERS_KEY)
        if officers is None:
            return []
        now = self.server.clock()
        return [{**lock, "since": now - (SIGN_IN_LOCKOUT_S - float(lock["seconds_left"]))}
                for lock in officers.guard.locks(now)]

    async def figures(self) -> dict[str, Any]:
        """Today's figures: ``/api/stats`` from local midnight, recomputed only when the
        journal or the rescans changed."""
        db = self.server.db
        day = self.queue.day_start()
        key = (day, await db.call(records.journal_seq, db.sync), len(self.rescans))
        if self._figures is None or self._figures[0] != key:
            stats = await self.queue.stats(day)
            rescans: dict[str, int] = {}
            for e in self.rescans:
                rescans[e["service"]] = rescans.get(e["service"], 0) + 1
            rescans.pop("", None)
            self._figures = key, mv.figures(stats, rescans, self.queue.rules.services)
        return self._figures[1]

    async def export(self, session: Session, first: str | None, last: str | None
                     ) -> tuple[str, str]:
        """The CSV of a range of local dates, and its file name; a bad range is refused."""
        rules = self.queue.rules
        try:
            span = mx.parse_range(first, last, utc_offset_min=rules.utc_offset_min)
        except mx.BadRange as exc:
            raise problem(400, "bad_range", str(exc)) from None
        db = self.server.db
        raw = await db.call(records.journal_range, db.sync, span.start, span.end)
        _, entries = await db.call(records.watched_since, db.sync, 0, span.start)
        per_ticket: dict[str, int] = {}
        for e in entries:
            if e["action"] == "document_status" and e["at"] < span.end and e.get("ticket"):
                per_ticket[e["ticket"]] = per_ticket.get(e["ticket"], 0) + 1
        journal = ((at, [de.Decision.from_dict(x) for x in json.loads(ds)]) for at, ds in raw)
        rows = mx.ticket_rows(journal, utc_offset_min=rules.utc_offset_min, rescans=per_ticket)
        await db.call(db.sync.audit, self.server.clock(), session.manager, "manager_export",
                      span.filename, {"rows": len(rows)})
        return span.filename, mx.to_csv(rows)


def _locked_out(detail: str, wait_s: float) -> web.HTTPException:
    refusal = problem(429, "locked_out", detail)
    refusal.headers["Retry-After"] = str(int(wait_s) + 1)
    return refusal
