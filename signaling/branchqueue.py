"""Branch server feature: the queue. The shell around the pure scheduler core.

It turns device messages and connection events into scheduler events, persists the
scheduler's state and a journal row in one transaction per event (so a server killed
mid-day resumes the same queue), arms one timer for the core's next deadline, and
carries out the decisions: calls to displays and booths, pairings with officer hubs,
alerts to hubs. Pairings made here carry their ticket; the foundation's ServiceRequest
path (a booth asking for any hub, no ticket) still works, and its pairings count against
the hub's capacity in the scheduler too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import Counter, Gauge

from signaling import crashpoint
from signaling import protocol as p
from signaling.errors import ProtocolError
from signaling.pairing import Pairing
from signaling.parking import parked_cases
from signaling.protocol import ErrorCode, ReleaseReason, Role
from signaling.queue import Priority, Scheduler
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import limits as qlimits
from signaling.queue import stats as qstats
from signaling.queue.booths import BoothState
from signaling.queue.errors import QueueError
from signaling.queue.rules import QueueRules
from signaling.queue.unserved import unserved_services
from signaling.server import BranchServer, Connection
from signaling.sessionfaults import SessionFaults, officer_alert
from signaling.store import Store

log = logging.getLogger(__name__)

RULES_KEY: web.AppKey[QueueRules] = web.AppKey("bilik_queue_rules")
QUEUE_KEY: web.AppKey[BranchQueue] = web.AppKey("bilik_queue")

# (device to answer, builds the answer from the event's decisions)
Reply = tuple[str, Callable[[list[de.Decision]], p.Message | None]]

HUB_FAILOVER_S = 5.0  # a hub gone this long has its booths re-paired with other hubs
STATS_REFRESH_S = 30.0  # how often today's figures are recomputed for /metrics
# The journal is the record; the state is snapshotted every this many events, and a
# restart replays the journal after the snapshot through the (deterministic) core.
SNAPSHOT_EVERY = 100
MAX_UPLOAD_BYTES = qlimits.MAX_IMPORT_BYTES  # appointment imports (docs: 4 MiB, 5,000 rows)

STEPS = [
    """
    CREATE TABLE queue_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE queue_journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        event TEXT NOT NULL,
        decisions TEXT NOT NULL
    );
    CREATE INDEX queue_journal_at ON queue_journal(at);
    """,
    # 2: the snapshot names the last journal entry it includes; later entries are replayed
    """
    ALTER TABLE queue_state ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE queue_state SET seq = (SELECT COALESCE(MAX(seq), 0) FROM queue_journal);
    """,
]

_UNPAIR_REASON = {
    de.UnpairReason.DONE: ReleaseReason.DONE,
    de.UnpairReason.HUB_OFFLINE: ReleaseReason.PEER_OFFLINE,
    de.UnpairReason.BOOTH_FAULT: ReleaseReason.FAULT,
    de.UnpairReason.TRANSFER: ReleaseReason.TRANSFER,
    de.UnpairReason.SPILL: ReleaseReason.TRANSFER,
    de.UnpairReason.PARK: ReleaseReason.PARK,
}


def booth_label(booth_id: str) -> str:
    """``booth-03`` -> ``Bilik 3``: what the queue display shows."""
    match = re.search(r"(\d+)$", booth_id)
    return f"Bilik {int(match.group(1))}" if match else booth_id


def fault_reason(broken: list[str]) -> str:
    """``device: camera, printer`` for a booth's broken parts, cut to what an event holds
    (a status may name 32 parts of 64 characters each)."""
    reason = "device: " + ", ".join(broken)
    if len(reason) <= qlimits.MAX_REASON_CHARS:
        return reason
    return reason[: qlimits.MAX_REASON_CHARS - 1] + "\u2026"


# -- store functions (run on the store thread) ------------------------------------------------


AUDITED = {"ticket_issued", "checked_in", "call", "recall", "no_show", "claimed", "move",
           "repair"}


def _load_state(store: Store) -> tuple[str | None, int, list[tuple[float, str]]]:
    """The last snapshot, the journal entry it ends at, and the events recorded after it."""
    row = store.execute("SELECT state, seq FROM queue_state WHERE id = 1").fetchone()
    state, seq = (None, 0) if row is None else (str(row[0]), int(row[1]))
    later = store.execute(
        "SELECT at, event FROM queue_journal WHERE seq > ? ORDER BY seq", (seq,)
    ).fetchall()
    return state, seq, [(float(r[0]), str(r[1])) for r in later]


def _save(store: Store, snapshot: str | None, at: float, actor: str, event: str,
          decisions: str) -> None:
    """One transaction: the journal entry, its audit rows and, now and then, a snapshot."""
    def work(db: sqlite3.Connection) -> None:
        cursor = db.execute(
            "INSERT INTO queue_journal (at, actor, event, decisions) VALUES (?, ?, ?, ?)",
            (at, actor, event, decisions),
        )
        if snapshot is not None:
            db.execute(
                "INSERT INTO queue_state (id, state, updated, seq) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET state = excluded.state, "
                "updated = excluded.updated, seq = excluded.seq",
                (snapshot, at, cursor.lastrowid),
            )
        for d in json.loads(decisions):
            if d.get("kind") in AUDITED and d.get("ticket"):
                store._audit(db, at, actor, "queue_" + d["kind"], d["ticket"], d)

    store.transaction(work)


def _journal(store: Store, since: float) -> list[tuple[float, str, str]]:
    rows = store.execute(
        "SELECT at, event, decisions FROM queue_journal WHERE at >= ? ORDER BY seq", (since,)
    ).fetchall()
    return [(float(r[0]), str(r[1]), str(r[2])) for r in rows]


class QueueMetrics:
    def __init__(self, server: BranchServer) -> None:
        registry = server.metrics.registry
        self.decisions = Counter("bilik_queue_decisions", "Queue decisions, by kind", ["kind"],
                                 registry=registry)
        self.waiting = Gauge("bilik_queue_waiting", "Tickets waiting to be called",
                             registry=registry)
        self.max_wait = Gauge("bilik_queue_expected_wait_max_seconds",
                              "Longest expected wait of a waiting ticket", registry=registry)
        self.at_risk = Counter("bilik_queue_appointments_at_risk",
                               "Appointment late alerts raised", registry=registry)
        self.refused = Counter("bilik_queue_refused", "Queue events refused, by code", ["code"],
                               registry=registry)
        # Today's figures (local day), refreshed every STATS_REFRESH_S from the journal.
        self.today = Gauge("bilik_queue_today", "Today's queue figures, by figure", ["figure"],
                           registry=registry)

    def publish(self, day: dict[str, Any]) -> None:
        figures = {
            "issued": day.get("issued"),
            "claims": day.get("claims"),
            "no_shows": day.get("no_shows"),
            "bookings_missed": day.get("bookings_missed"),
            "late_alerts": day.get("late_alerts"),
            "wait_p50_seconds": day.get("wait", {}).get("p50_s"),
            "wait_p95_seconds": day.get("wait", {}).get("p95_s"),
            "handle_p50_seconds": day.get("handle", {}).get("p50_s"),
            "claims_per_officer_hour": day.get("claims_per_officer_hour"),
            "officer_utilisation": day.get("officer_utilisation"),
            "appointments_within_sla": day.get("appointments_within_sla"),
            "appointment_lateness_p95_seconds": day.get("appointment_lateness_p95_s"),
        }
        for name, value in figures.items():
            self.today.labels(name).set(float("nan") if value is None else float(value))


class BranchQueue:
    """The queue of one branch server."""

    def __init__(self, server: BranchServer, rules: QueueRules, *, branch: str,
                 hub_failover_s: float = HUB_FAILOVER_S) -> None:
        self.server = server
        self.rules = rules
        self.branch = branch
        self.hub_failover_s = hub_failover_s
        self.scheduler = Scheduler(rules, branch=branch, now=server.clock())
        self.metrics = QueueMetrics(server)
        self.hub_slots: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._failover: dict[str, asyncio.TimerHandle] = {}
        self._releasing: set[str] = set()  # pairings the queue itself is ending
        self._owner: asyncio.Task[Any] | None = None  # the task applying an event (see handle)
        self.snapshot_every = SNAPSHOT_EVERY
        self._since_snapshot = 0
        self._deferred: list[tuple[ev.Event, str]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._capacity_dirty: dict[str, None] = {}  # hubs whose free slots changed, in order
        self._capacity_flush: asyncio.Task[None] | None = None
        self.session_faults = SessionFaults()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        db = self.server.db
        await db.call(db.sync.migrate_feature, "queue", STEPS)
        self.scheduler = await self._restore(self.server.clock())
        if self.scheduler.tickets or self.scheduler.booths:
            log.info("queue resumed", extra={"fields": {
                "tickets": len(self.scheduler.tickets), "booths": len(self.scheduler.booths)}})
        # Nobody is connected yet: hubs come back online when they announce capacity.
        for hub in list(self.scheduler.hubs.values()):
            if hub.online:
                self._arm_failover(hub.id)
        self._arm()
        self._spawn(self._refresh_stats(), "queue-stats")

    async def _refresh_stats(self) -> None:
        while True:
            try:
                day = (await self.stats(self.day_start()))["day"]
                self.metrics.publish(day)
                waits = self.scheduler.expected_waits()
                self.metrics.max_wait.set(max(waits.values(), default=0.0))
            except Exception:
                log.exception("could not compute today's queue figures")
            await asyncio.sleep(STATS_REFRESH_S)

    def day_start(self) -> float:
        """Local midnight of today, as epoch seconds."""
        offset = self.rules.utc_offset_min * 60
        now = self.server.clock()
        return (now + offset) // 86400 * 86400 - offset

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for handle in self._failover.values():
            handle.cancel()
        self._failover.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the one way in ---------------------------------------------------------------------

    async def handle(self, event: ev.Event, *, actor: str, reply: Reply | None = None
                     ) -> list[de.Decision]:
        """Feed one event; persist state and journal; carry out the decisions.

        A refused event raises its QueueError and changes nothing, in memory or on disk.
        ``reply`` (device, build) answers the device that asked, once the event is stored
        and before its consequences are announced, so a booth sees ``ok`` before ``pair``.
        """
        if self._owner is not None and self._owner is asyncio.current_task():
            # A consequence of the event being applied (a hook fired by a release or a
            # pairing): it runs right after, in order, under the same lock.
            self._deferred.append((event, actor))
            return []
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                decisions = await self._handle_locked(event, actor, reply)
                while self._deferred:
                    later, who = self._deferred.pop(0)
                    try:
                        await self._handle_locked(later, who, None)
                    except QueueError as exc:
                        log.info("queue event not applicable", extra={"fields": {
                            "event": later.to_dict(), "why": exc.detail}})
            finally:
                self._owner = None
                self._deferred.clear()
            self._arm()
        return decisions

    async def _handle_locked(self, event: ev.Event, actor: str, reply: Reply | None
                             ) -> list[de.Decision]:
        now = max(self.server.clock(), self.scheduler.now)
        try:
            decisions = self.scheduler.handle(event, now)
        except QueueError as exc:
            self.metrics.refused.labels(exc.code).inc()
            raise
        self._since_snapshot += 1
        snapshot = None
        if self._since_snapshot >= self.snapshot_every:
            snapshot = json.dumps(self.scheduler.to_dict())
        try:
            await self.server.db.call(
                _save, self.server.db.sync, snapshot, now, actor,
                json.dumps(event.to_dict()), json.dumps([d.to_dict() for d in decisions]),
            )
        except Exception:
            # Not stored means not done: go back to the state on disk.
            self.scheduler = await self._restore(now)
            raise
        if snapshot is not None:
            self._since_snapshot = 0
        crashpoint.reached("queue.committed")
        if reply is not None:
            answer = reply[1](decisions)
            if answer is not None:
                await self.server.send_to(reply[0], answer)
                crashpoint.reached("queue.answered")
        for decision in decisions:
            self.metrics.decisions.labels(decision.KIND.value).inc()
            try:
                await self._apply(decision)
            except Exception:
                log.exception("applying a queue decision failed", extra={"fields": {
                    "decision": decision.to_dict()}})
        self._update_gauges()
        return decisions

    async def _restore(self, now: float) -> Scheduler:
        """The state on disk: the last snapshot, then every event journaled after it."""
        db = self.server.db
        state, _seq, later = await db.call(_load_state, db.sync)
        scheduler = (Scheduler.from_dict(json.loads(state), self.rules) if state is not None
                     else Scheduler(self.rules, branch=self.branch, now=later[0][0] if later
                                    else now))
        for at, event in later:
            # The core is a pure function of its events and their times: the same decisions.
            scheduler.handle(ev.Event.from_dict(json.loads(event)), at)
        self._since_snapshot = len(later)
        return scheduler

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.scheduler.next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self.server.clock())
        self._timer = asyncio.get_running_loop().call_later(
            delay, lambda: self._spawn(self._tick(), "queue-tick"))

    async def _tick(self) -> None:
        self._timer = None
        try:
            await self.handle(ev.Tick(), actor="clock")
        except QueueError:
            log.exception("queue tick refused")

    def _update_gauges(self) -> None:
        self.metrics.waiting.set(len(self.scheduler.waiting()))

    # -- decisions -> messages ---------------------------------------------------------------

    async def _apply(self, d: de.Decision) -> None:
        server = self.server
        if isinstance(d, de.Call | de.Recall):
            msg = p.Called(ticket=d.ticket, number=d.number, booth=d.booth, label=d.label,
                           attempt=d.attempt if isinstance(d, de.Recall) else 0)
            await server.broadcast(Role.DISPLAY, msg)
            await server.send_to(d.booth, msg)
        elif isinstance(d, de.NoShow):
            msg2 = p.Cleared(number=d.number, booth=d.booth, reason="no_show")
            await server.broadcast(Role.DISPLAY, msg2)
            await server.send_to(d.booth, msg2)
        elif isinstance(d, de.Claimed):
            await server.broadcast(Role.DISPLAY,
                                   p.Cleared(number=d.number, booth=d.booth, reason="claimed"))
        elif isinstance(d, de.Move):
            await server.broadcast(Role.DISPLAY,
                                   p.Cleared(number=d.number, booth=d.from_booth, reason="moved"))
        elif isinstance(d, de.Pair):
            await self._pair(d.booth, d.hub, d.ticket)
        elif isinstance(d, de.Repair):
            await self._unpair(d.booth, _UNPAIR_REASON[d.reason])
            await self._pair(d.booth, d.hub, d.ticket)
        elif isinstance(d, de.Unpair):
            await self._unpair(d.booth, _UNPAIR_REASON[d.reason])
        elif isinstance(d, de.SessionClosed):
            await self._unpair(d.booth, ReleaseReason.DONE)
            held = self.session_faults.session_over(d.booth)
            if held is not None:  # runs right after this event (see handle)
                await self.handle(ev.BoothFaulty(booth=d.booth, reason=held), actor="server")
        elif isinstance(d, de.WaitForHub):
            waits = self.scheduler.expected_waits()
            await server.send_to(d.booth, p.Waiting(
                ticket=d.ticket, expected_wait_s=round(waits.get(d.ticket, 0.0), 1)))
        elif isinstance(d, de.AppointmentAtRisk):
            self.metrics.at_risk.inc()
            await server.broadcast(Role.HUB, p.Alert(
                kind="appointment_at_risk", subject=d.code,
                detail=f"{d.reason.value}; ticket {d.ticket or '-'}", at=d.predicted_start,
                ticket=d.ticket or ""))
            await server.db.call(server.db.sync.audit, server.clock(), "queue",
                                 "appointment_at_risk", d.code, d.to_dict())
        elif isinstance(d, de.AppointmentMissed):
            await server.broadcast(Role.HUB, p.Alert(kind="appointment_missed", subject=d.code,
                                                     at=d.slot))

    async def _pair(self, booth: str, hub: str, ticket_id: str) -> None:
        existing = self.server.book.of_booth(booth)
        if existing is not None:
            await self._release(existing, ReleaseReason.TRANSFER)
        ticket = self.scheduler.tickets.get(ticket_id)
        await self.server.pair(booth, hub, actor="queue", ticket=ticket_id,
                               number=ticket.number if ticket else "",
                               service=ticket.service if ticket else "")

    async def _unpair(self, booth: str, reason: ReleaseReason) -> None:
        existing = self.server.book.of_booth(booth)
        if existing is not None:
            await self._release(existing, reason)

    async def _release(self, pairing: Pairing, reason: ReleaseReason) -> None:
        self._releasing.add(pairing.id)
        try:
            await self.server.release(pairing.id, reason, actor="queue")
        finally:
            self._releasing.discard(pairing.id)

    # -- device events -> queue events --------------------------------------------------------

    async def safe(self, event: ev.Event, actor: str) -> None:
        """Feed an event caused by a device coming or going; a refusal is only logged."""
        try:
            await self.handle(event, actor=actor)
        except QueueError as exc:
            log.info("queue event not applicable", extra={"fields": {
                "event": event.to_dict(), "why": exc.detail}})

    async def on_connect(self, conn: Connection) -> None:
        if conn.role is Role.BOOTH:
            booth = self.scheduler.booths.get(conn.device_id)
            if booth is None:
                await self.safe(ev.BoothAdded(booth=conn.device_id,
                                              label=booth_label(conn.device_id)), conn.device_id)
            elif booth.faulty and booth.fault == "offline":
                await self.safe(ev.BoothHealthy(booth=conn.device_id), conn.device_id)
        elif conn.role is Role.HUB:
            handle = self._failover.pop(conn.device_id, None)
            if handle is not None:
                handle.cancel()
        elif conn.role is Role.DISPLAY:
            # A display that (re)connects shows what is being called now.
            for booth in self.scheduler.booths.values():
                ticket = self.scheduler.tickets.get(booth.ticket or "")
                if booth.state.value == "calling" and ticket is not None:
                    await self.server.send_to(conn.device_id, p.Called(
                        ticket=ticket.id, number=ticket.number, booth=booth.id,
                        label=booth.label, attempt=ticket.recalls))

    async def on_disconnect(self, device: str, role: Role) -> None:
        if role is Role.HUB and device in self.scheduler.hubs:
            self._arm_failover(device)

    def _arm_failover(self, hub: str) -> None:
        old = self._failover.pop(hub, None)
        if old is not None:
            old.cancel()
        self._failover[hub] = asyncio.get_running_loop().call_later(
            self.hub_failover_s, lambda: self._spawn(self._hub_gone(hub), f"failover-{hub}"))

    async def _hub_gone(self, hub: str) -> None:
        self._failover.pop(hub, None)
        if hub in self.server.connections:
            return
        log.warning("officer hub offline: re-pairing its booths", extra={"fields": {"hub": hub}})
        await self.safe(ev.HubOffline(hub=hub), "server")

    async def on_offline(self, device: str, role: Role) -> None:
        if role is Role.BOOTH and device in self.scheduler.booths:
            await self.safe(ev.BoothFaulty(booth=device, reason="offline"), "server")

    async def on_status(self, conn: Connection, msg: p.Status) -> None:
        if conn.role is not Role.BOOTH or conn.device_id not in self.scheduler.booths:
            return
        booth = self.scheduler.booths[conn.device_id]
        broken = sorted(k for k, v in msg.health.items() if v not in ("ok", "absent-ok"))
        if broken and not booth.faulty:
            reason = fault_reason(broken)
            if booth.state is BoothState.OCCUPIED and booth.ticket is not None:
                # Someone is seated: the session finishes first (signaling.sessionfaults).
                if self.session_faults.hold(booth.id, reason):
                    alert = officer_alert(booth.id, reason, booth.ticket)
                    if booth.hub is not None:
                        await self.server.send_to(booth.hub, alert)
                    else:
                        await self.server.broadcast(Role.HUB, alert)
                    await self.server.db.call(self.server.db.sync.audit, self.server.clock(),
                                              conn.device_id, "device_fault_in_session",
                                              booth.ticket, {"reason": reason})
                return
            self.session_faults.recovered(booth.id)
            await self.safe(ev.BoothFaulty(booth=conn.device_id, reason=reason), conn.device_id)
        elif not broken:
            self.session_faults.recovered(booth.id)
            if booth.faulty and booth.fault != "offline":
                await self.safe(ev.BoothHealthy(booth=conn.device_id), conn.device_id)

    async def on_service_request(self, conn: Connection, msg: p.Message) -> None:
        """A booth leaves the queue's calling while it is served outside the queue."""
        assert isinstance(msg, p.ServiceRequest)
        booth = self.scheduler.booths.get(conn.device_id)
        if booth is not None and booth.can_call():
            await self.safe(ev.BoothBusy(booth=conn.device_id), conn.device_id)
        await self.server.service_request(conn, msg)

    async def on_pair(self, pairing: Pairing) -> None:
        if not pairing.ticket:
            self._sync_capacity(pairing.hub)

    async def on_release(self, pairing: Pairing, reason: ReleaseReason, actor: str) -> None:
        """A queue pairing ended without the queue asking: tell the scheduler what happened."""
        if not pairing.ticket:
            self._sync_capacity(pairing.hub)
            booth = self.scheduler.booths.get(pairing.booth)
            if booth is not None and booth.state.value == "busy" and booth.ticket is None:
                await self.safe(ev.BoothFree(booth=pairing.booth), "server")
            return
        if pairing.id in self._releasing:
            return
        booth = self.scheduler.booths.get(pairing.booth)
        if booth is None or booth.hub != pairing.hub:
            return
        hub_gave_up = actor == pairing.hub and reason in (
            ReleaseReason.PEER_OFFLINE, ReleaseReason.FAULT
        )
        if reason is ReleaseReason.HUB_FULL or hub_gave_up:
            # The hub gave the booth up (full, or lost its media): another officer takes it.
            await self.safe(ev.Transfer(booth=pairing.booth), actor)
        elif actor == "server" and reason is ReleaseReason.PEER_OFFLINE:
            if pairing.booth not in self.server.connections:
                await self.safe(ev.BoothFaulty(booth=pairing.booth, reason="offline"), actor)
            else:
                await self.safe(ev.HubOffline(hub=pairing.hub), actor)

    def _sync_capacity(self, hub: str) -> None:
        """Pairings made outside the queue use the hub's slots too: tell the queue, later.

        The device whose message made the pairing does not wait for the queue: a burst of
        pairings (every booth of a branch after a restart) would otherwise hold each device's
        next messages, its relayed SDP and ICE included, behind the whole queue backlog.
        Changes are coalesced per hub and applied in order by one task.
        """
        self._capacity_dirty[hub] = None
        if self._capacity_flush is None or self._capacity_flush.done():
            self._capacity_flush = asyncio.get_running_loop().create_task(
                self._flush_capacity(), name="queue-capacity-sync")
            self._tasks.add(self._capacity_flush)
            self._capacity_flush.add_done_callback(self._tasks.discard)

    async def _flush_capacity(self) -> None:
        while self._capacity_dirty:
            hub = next(iter(self._capacity_dirty))
            del self._capacity_dirty[hub]
            if hub not in self.scheduler.hubs or hub not in self.hub_slots:
                continue
            capacity = max(0, self.hub_slots[hub] - self._outside(hub))
            if self.scheduler.hubs[hub].capacity != capacity:
                await self.safe(ev.HubCapacity(hub=hub, capacity=capacity), hub)

    def _outside(self, hub: str) -> int:
        book = self.server.book
        state = book.hubs.get(hub)
        if state is None:
            return 0
        return sum(1 for booth in state.booths
                   if (x := book.of_booth(booth)) is not None and not x.ticket)

    # -- message handlers ----------------------------------------------------------------------

    async def on_ticket_request(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.TicketRequest)
        try:
            priority = Priority(msg.priority)
        except ValueError:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                "priority must be one of " + ", ".join(x.value for x in Priority),
            ) from None
        def answer(decisions: list[de.Decision]) -> p.Message | None:
            for d in decisions:
                if isinstance(d, de.TicketIssuedDecision):
                    return p.TicketInfo(
                        ref=msg.id, ticket=d.ticket, number=d.number, service=d.service,
                        qr=d.qr, ahead=d.ahead, expected_wait_s=d.expected_wait_s)
            return None

        await self._request(conn, msg, ev.TicketIssued(
            service=msg.service, priority=priority, token=secrets.token_urlsafe(12)),
            answer=answer)

    async def on_check_in(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.CheckIn)
        booth = conn.device_id if conn.role is Role.BOOTH else None
        def answer(decisions: list[de.Decision]) -> p.Message | None:
            for d in decisions:
                if isinstance(d, de.CheckedIn):
                    ahead = sum(1 for t in self.scheduler.waiting() if t.id != d.ticket)
                    return p.TicketInfo(
                        ref=msg.id, ticket=d.ticket, number=d.number, service=d.service,
                        qr=d.qr, ahead=ahead, expected_wait_s=d.expected_wait_s, slot=d.slot)
            # No ticket issued and no refusal: a booking checked in earlier, scanned at the
            # booth its ticket is called to, has claimed it (Scheduler._booking_at_booth).
            return p.Ok(ref=msg.id)

        await self._request(conn, msg, ev.AppointmentCheckedIn(
            code=msg.code, token=secrets.token_urlsafe(12), booth=booth), answer=answer)

    async def on_claim(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Claim)
        await self._request(conn, msg, ev.TicketClaimed(booth=conn.device_id, qr=msg.qr),
                            reply_ok=True)

    async def on_booth_ready(self, conn: Connection, msg: p.Message) -> None:
        await self._request(conn, msg, ev.BoothFree(booth=conn.device_id), reply_ok=True)

    async def on_capacity(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Capacity)
        hub = conn.device_id
        self.server.book.set_capacity(hub, msg.slots)
        self.hub_slots[hub] = msg.slots
        skills = tuple(msg.skills) or tuple(self.rules.services)
        known = self.scheduler.hubs.get(hub)
        capacity = max(0, msg.slots - self._outside(hub))
        if known is None or not known.online or list(known.skills) != list(skills) \
                or known.officer != msg.officer:
            event: ev.Event = ev.HubOnline(hub=hub, skills=skills, capacity=capacity,
                                           officer=msg.officer)
        else:
            event = ev.HubCapacity(hub=hub, capacity=capacity)
        await self._request(conn, msg, event, reply_ok=True)
        await self.server.pair_waiting()

    async def on_focus(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Focus)
        outside = self.server.book.of_booth(msg.booth) if msg.booth else None
        if outside is not None and outside.hub == conn.device_id and not outside.ticket:
            # A booth served outside the queue (a direct service request): nothing to record.
            await self.server.send_to(conn.device_id, p.Ok(ref=msg.id))
            return
        await self._request(conn, msg, ev.OfficerFocus(hub=conn.device_id, booth=msg.booth or None),
                            reply_ok=True)

    def _check_serves(self, conn: Connection, booth: str) -> None:
        booth_state = self.scheduler.booths.get(booth)
        if booth_state is None or booth_state.hub != conn.device_id:
            raise ProtocolError(ErrorCode.NOT_PAIRED,
                                f"{conn.device_id} is not serving booth {booth}")

    async def on_session_end(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.SessionEnd)
        self._check_serves(conn, msg.booth)
        await self._request(conn, msg, ev.SessionEnded(booth=msg.booth, outcome=msg.outcome),
                            reply_ok=True)

    async def on_transfer(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Transfer)
        self._check_serves(conn, msg.booth)
        await self._request(conn, msg, ev.Transfer(booth=msg.booth, to_hub=msg.to_hub or None),
                            reply_ok=True)

    async def on_park(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Park)
        booth = self.scheduler.booths.get(msg.booth)
        if msg.resume:
            if booth is None or not booth.held:
                raise ProtocolError(ErrorCode.NOT_PAIRED, f"booth {msg.booth} is not parked")
            ticket = self.scheduler.tickets.get(booth.ticket or "")
            parked_by = ticket.hub if ticket is not None else None
            # The case is the parking officer's: another hub may take it over only once that
            # hub is gone (else a parked participant would wait for nobody).
            if parked_by not in (None, conn.device_id) and parked_by in self.server.connections:
                raise ProtocolError(ErrorCode.FORBIDDEN,
                                    f"booth {msg.booth} was parked by {parked_by}, not by "
                                    f"{conn.device_id}")
            own = self.scheduler.hubs.get(conn.device_id)
            if own is not None and not own.has_room():
                # Resumed here or nowhere: not handed to another officer behind one's back.
                raise ProtocolError(ErrorCode.NO_CAPACITY,
                                    f"no free seat at {conn.device_id} to resume "
                                    f"{msg.booth}: finish or park another case first")
            event: ev.Event = ev.Resume(booth=msg.booth)
        else:
            self._check_serves(conn, msg.booth)
            event = ev.Park(booth=msg.booth)
        await self._request(conn, msg, event, reply_ok=True)

    async def _request(
        self, conn: Connection, msg: p.Message, event: ev.Event, *, reply_ok: bool = False,
        answer: Callable[[list[de.Decision]], p.Message | None] | None = None,
    ) -> None:
        """Handle a device's request: Ok (or ``answer``) once stored, Error if refused."""
        if answer is None:
            answer = (lambda _d: p.Ok(ref=msg.id)) if reply_ok else (lambda _d: None)
        try:
            await self.handle(event, actor=conn.device_id, reply=(conn.device_id, answer))
        except QueueError as exc:
            await self.server.send_to(conn.device_id, p.Error(
                ref=msg.id, code=exc.code, detail=exc.detail, text_key=exc.key or "",
                values=exc.values() if exc.key else {}))

    # -- views ------------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        s = self.scheduler
        waits = s.expected_waits()
        return {
            "branch": self.branch,
            "now": s.now,
            "waiting": [
                {"ticket": t.id, "number": t.number, "service": t.service,
                 "priority": t.priority.value, "appointment": t.appointment,
                 "expected_wait_s": round(waits.get(t.id, 0.0), 1)}
                for t in s.waiting()
            ],
            "booths": {
                b.id: {"label": b.label, "state": b.state.value, "faulty": b.faulty,
                       "fault": b.fault, "ticket": b.ticket, "hub": b.hub, "held": b.held}
                for b in s.booths.values()
            },
            "hubs": {
                h.id: {"online": h.online, "capacity": h.capacity, "skills": list(h.skills),
                       "officer": h.officer}
                for h in s.hubs.values()
            },
            "unserved_services": unserved_services(s.waiting(), s.hubs.values(),
                                                   self.server.clock()),
            "parked": parked_cases(s, self.server.clock()),
        }

    async def stats(self, since: float) -> dict[str, Any]:
        """The figures since ``since``, computed off the event loop (a day is thousands of
        journal rows; devices' messages must not wait behind them)."""
        rows = await self.server.db.call(_journal, self.server.db.sync, since)
        until = self.server.clock()
        rules = self.rules

        def summarise() -> dict[str, Any]:
            journal = (
                (at, ev.Event.from_dict(json.loads(e)),
                 [de.Decision.from_dict(x) for x in json.loads(ds)])
                for at, e, ds in rows
            )
            return qstats.summarise(journal, utc_offset_min=rules.utc_offset_min,
                                    sla_late_s=rules.sla_late_s, until=until)

        return await asyncio.to_thread(summarise)


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
    from signaling.queuehttp import import_appointments, queue_stats, queue_view

    app.router.add_post("/api/queue/appointments", import_appointments)
    app.router.add_get("/api/queue", queue_view)
    app.router.add_get("/api/stats", queue_stats)

