"""Branch server feature: store and forward of evidence bundles to the head office.

A decision is answered first; then this feature's task (never the participant's request)
gives the decision an outbox row, builds its signed bundle under ``DATA_DIR/evidence/`` and
sends it with the resumable upload of :mod:`signaling.headofficelink`, with capped
exponential backoff while the head office is unreachable. The row and the file survive a
restart; a bundle is marked acknowledged only once the head office has verified and stored
it, and its local copy is deleted only after ``evidence_retention_s`` more. A bundle the head
office refuses is kept, audited, counted and logged as an error.

With a head office configured it also pulls the day's bookings (:mod:`signaling.bookingpull`).
The backlog (bundles not acknowledged, age of the oldest) is on ``/metrics``; the outbox is
listed at ``GET /api/evidence/outbox`` (admin) and a bundle downloaded at
``GET /api/evidence/{reference}`` (admin).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from prometheus_client import Counter, Gauge

from bilik.backoff import Backoff
from bilik.evidence import bundle, keys
from bilik.evidence.limits import HASH_CHUNK
from signaling import evidence
from signaling import outboxrecords as ev
from signaling import protocol as p
from signaling.bookingpull import BookingPull
from signaling.branchqueue import QUEUE_KEY
from signaling.headofficelink import BundleRefused, HeadOfficeLink, LinkError
from signaling.problems import problem
from signaling.roleguard import admin_only

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from signaling.server import BranchServer, Connection

log = logging.getLogger(__name__)

BATCH = 20  # outbox rows handled per pass
IDLE_S = 30.0  # a pass at least this often (retention, rows due later)
RECORDING_POLL_S = 5.0  # a bundle waiting for its recording looks again this often
OUTBOX_KEY: web.AppKey[Outbox] = web.AppKey("bilik_outbox")


class OutboxMetrics:
    def __init__(self, registry: Any) -> None:
        self.backlog = Gauge("bilik_outbox_backlog",
                             "Evidence bundles the head office has not acknowledged yet",
                             registry=registry)
        self.oldest = Gauge("bilik_outbox_oldest_age_seconds",
                            "Age of the oldest decision whose bundle is not acknowledged "
                            "(0: none)", registry=registry)
        self.acked = Counter("bilik_outbox_acknowledged",
                             "Evidence bundles acknowledged by the head office",
                             registry=registry)
        self.refused = Counter("bilik_outbox_refused",
                               "Evidence bundles the head office refused (see the audit log)",
                               registry=registry)
        self.failures = Counter("bilik_outbox_send_failures",
                                "Tries to reach the head office that failed", registry=registry)


class Outbox:
    def __init__(self, server: BranchServer, app: web.Application) -> None:
        self.server = server
        self.app = app
        self.pull: BookingPull | None = None
        config = server.config
        self.urls = [u.strip() for u in config.headoffice_url.split(",") if u.strip()]
        self.metrics = OutboxMetrics(server.metrics.registry)
        self.link_backoff = Backoff(config.outbox_retry_min_s, max(config.outbox_retry_min_s,
                                                                  config.outbox_retry_max_s))
        self.key: Ed25519PrivateKey | None = None
        self.link: HeadOfficeLink | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._link_down_until = 0.0

    @property
    def root(self) -> Path:
        return self.server.config.data_dir / "evidence"

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        db = self.server.db
        await db.call(db.sync.migrate_feature, ev.FEATURE, ev.STEPS)
        # The key is made at the first start (mode 0600); `bilik evidence public-key` prints
        # its public part for the head office.
        self.key = await asyncio.to_thread(keys.load_or_create, self.server.config.data_dir)
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        if self.urls:
            self._session = aiohttp.ClientSession()
            self.link = HeadOfficeLink(self.urls, self.server.config.branch, self.key,
                                       self._session, self.server.clock)
            queue = self.app.get(QUEUE_KEY)
            if queue is not None and self.server.config.bookings_pull_s > 0:
                self.pull = BookingPull(self.server, queue, self.link,
                                        self.server.config.bookings_pull_s)
                self.pull.start()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="evidence-outbox")

    async def stop(self) -> None:
        if self.pull is not None:
            await self.pull.stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        self._wake.set()

    # -- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                wait = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("evidence outbox pass failed")
                wait = self.server.config.outbox_retry_max_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            self._wake.clear()

    async def step(self) -> float:
        """One pass: enqueue, build, send, sweep, count. Returns seconds until the next."""
        db = self.server.db
        await db.call(ev.enqueue_decided, db.sync)
        now = self.server.clock()
        sending = self.link is not None
        for row in await db.call(ev.due, db.sync, now, BATCH, sending=sending):
            if row.state is ev.OutboxState.PENDING:
                row = await self._build(row)
            if row.state is ev.OutboxState.BUILT and self.link is not None:
                if self.server.clock() < self._link_down_until:
                    continue
                await self._send(row)
        await self._sweep()
        await self._count()
        next_due = await db.call(ev.next_due, db.sync, sending=sending)
        now = self.server.clock()
        wait = IDLE_S if next_due is None else next_due - now
        if self.link is not None and next_due is not None:
            wait = max(wait, self._link_down_until - now)
        return max(0.0, min(IDLE_S, wait))

    async def _build(self, row: ev.OutboxRow) -> ev.OutboxRow:
        db, config = self.server.db, self.server.config
        assert self.key is not None
        now = self.server.clock()
        if now < row.decided + config.evidence_recording_wait_s and await db.call(
                evidence.awaits_recording, db.sync, row.reference):
            await db.call(ev.postpone, db.sync, row.reference,
                          min(now + RECORDING_POLL_S, row.decided
                              + config.evidence_recording_wait_s), "waiting for the recording")
            return row
        try:
            claim = await db.call(evidence.collect, db.sync, row.reference, config.branch,
                                  config.data_dir / "documents", self.server.clock())
            name = ev.bundle_name(row.reference)
            sha, size = await asyncio.to_thread(bundle.write, claim, self.key, self.root / name)
        except (OSError, LookupError, ValueError) as exc:
            log.error("cannot build evidence bundle", extra={"fields": {
                "reference": row.reference, "error": str(exc)}})
            await db.call(ev.mark_retry, db.sync, row.reference,
                          self.server.clock() + config.outbox_retry_max_s, f"build: {exc}")
            return row
        await db.call(ev.mark_built, db.sync, row.reference, name, sha, size,
                      self.server.clock())
        built = await db.call(ev.get, db.sync, row.reference)
        assert built is not None
        return built

    async def _send(self, row: ev.OutboxRow) -> None:
        db = self.server.db
        assert self.link is not None

        damage = await asyncio.to_thread(_damage, self.root / row.file, row.sha256, row.size)
        if damage:  # the disk or someone changed it after it was built: never send that
            await self._refused(row, [damage])
            return
        resumed: list[int] = []
        try:
            ack = await self.link.send(self.root / row.file, row.reference, row.sha256, row.size,
                                       on_resume=resumed.append)
        except LinkError as exc:
            self.metrics.failures.inc()
            delay = self.link_backoff.next_delay()
            self._link_down_until = self.server.clock() + delay
            await db.call(ev.mark_retry, db.sync, row.reference, self._link_down_until,
                          str(exc))
            log.warning("head office not reached; bundle kept", extra={"fields": {
                "reference": row.reference, "retry_in_s": round(delay, 2), "error": str(exc)}})
            return
        except BundleRefused as exc:
            await self._refused(row, exc.problems)
            return
        if resumed:  # the head office had part of it: the upload went on from there
            await db.call(ev.mark_resumed, db.sync, row.reference, resumed[0])
        self.link_backoff.reset()
        self._link_down_until = 0.0
        self.metrics.acked.inc()
        await db.call(ev.mark_acked, db.sync, row.reference, self.server.clock(),
                      {"sha256": ack.sha256, "duplicate": ack.duplicate})

    async def _refused(self, row: ev.OutboxRow, problems: list[str]) -> None:
        db = self.server.db
        self.metrics.refused.inc()
        await db.call(ev.mark_refused, db.sync, row.reference, self.server.clock(), problems)
        log.error("evidence bundle refused", extra={"fields": {
            "reference": row.reference, "problems": problems}})

    async def _sweep(self) -> None:
        db, config = self.server.db, self.server.config
        now = self.server.clock()
        for row in await db.call(ev.expired, db.sync, now, config.evidence_retention_s):
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread((self.root / row.file).unlink)
            await db.call(ev.mark_deleted, db.sync, row.reference, now)

    async def _count(self) -> None:
        db = self.server.db
        count, oldest = await db.call(ev.backlog, db.sync)
        self.metrics.backlog.set(count)
        self.metrics.oldest.set(0.0 if oldest is None else max(0.0, self.server.clock()
                                                                 - oldest))

    # -- admin routes ---------------------------------------------------------------------

    async def http_list(self, request: web.Request) -> web.Response:
        db = self.server.db
        rows = await db.call(ev.rows, db.sync)
        count, oldest = await db.call(ev.backlog, db.sync)
        return web.json_response({
            "backlog": count, "oldest_decided": oldest,
            "bundles": [{**r.__dict__, "state": r.state.value} for r in rows]})

    async def http_download(self, request: web.Request) -> web.StreamResponse:
        db = self.server.db
        reference = request.match_info["reference"]
        row = await db.call(ev.get, db.sync, reference)
        if row is None or not row.file or not (self.root / row.file).exists():
            raise problem(404, "not_found", f"no bundle of claim {reference[:64]!r} is kept "
                          "here")
        return web.FileResponse(self.root / row.file, headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{row.file}"'})


def _damage(path: Path, sha256: str, size: int) -> str:
    """Why the local copy is not the bundle that was built ("" when it is)."""
    try:
        actual = path.stat().st_size
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        return f"the local copy {path.name} cannot be read: {exc.strerror}"
    if actual != size or digest.hexdigest() != sha256:
        return (f"the local copy {path.name} changed after it was built (SHA-256 "
                f"{digest.hexdigest()[:12]}…, {actual} bytes; built {sha256[:12]}…, {size} "
                "bytes)")
    return ""


def setup(app: web.Application, server: BranchServer) -> None:
    """Bundles for decisions (after :mod:`signaling.cases`), the outbox and its routes."""
    outbox = Outbox(server, app)
    app[OUTBOX_KEY] = outbox
    server.on_start.append(outbox.start)
    server.on_stop.append(outbox.stop)
    decide = server.handlers[p.Decision.TYPE]

    async def on_decision(conn: Connection, msg: p.Message) -> None:
        try:
            await decide(conn, msg)  # recorded and answered first
        finally:
            outbox.wake()  # the bundle is built and sent by the outbox's own task

    server.handlers[p.Decision.TYPE] = on_decision
    app.router.add_get("/api/evidence/outbox", admin_only(outbox.http_list))
    app.router.add_get("/api/evidence/{reference}", admin_only(outbox.http_download))
