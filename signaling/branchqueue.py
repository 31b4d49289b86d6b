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
from typing import Any

from aiohttp import web

from bilik.tasks import TaskSet
from signaling import crashpoint
from signaling import protocol as p
from signaling import queuerecords as records
from signaling.pairing import Pairing
from signaling.protocol import ReleaseReason, Role
from signaling.queue import Scheduler
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue import limits as qlimits
from signaling.queue import stats as qstats
from signaling.queue.booths import BoothState
from signaling.queue.errors import QueueError
from signaling.queue.rules import QueueRules
from signaling.queuemapping import (
    UNPAIR_REASON,
    booth_label,
    broken_parts,
    calls_now,
    fault_reason,
    queue_view,
)
from signaling.queuemetrics import QueueMetrics
from signaling.queuerequests import QueueRequests, Reply
from signaling.server import BranchServer, Connection
from signaling.sessionfaults import SessionFaults, officer_alert

__all__ = ["QUEUE_KEY", "RULES_KEY", "BranchQueue", "booth_label", "fault_reason"]

log = logging.getLogger(__name__)

RULES_KEY: web.AppKey[QueueRules] = web.AppKey("bilik_queue_rules")
QUEUE_KEY: web.AppKey[BranchQueue] = web.AppKey("bilik_queue")

HUB_FAILOVER_S = 5.0  # a hub gone this long has its booths re-paired with other hubs
STATS_REFRESH_S = 30.0  # how often today's figures are recomputed for /metrics
SNAPSHOT_EVERY = 100  # events between snapshots of the state (see signaling.queuerecords)
MAX_UPLOAD_BYTES = qlimits.MAX_IMPORT_BYTES  # appointment imports (docs: 4 MiB, 5,000 rows)

class BranchQueue(QueueRequests):
    """The queue of one branch server; its message handlers are :class:`QueueRequests`."""

    def __init__(self, server: BranchServer, rules: QueueRules, *, branch: str,
                 hub_failover_s: float = HUB_FAILOVER_S) -> None:
        self.server = server
        self.rules = rules
        self.branch = branch
        self.hub_failover_s = hub_failover_s
        self.scheduler = Scheduler(rules, branch=branch, now=server.clock())
        self.metrics = QueueMetrics(server.metrics.registry)
        self.hub_slots: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._failover: dict[str, asyncio.TimerHandle] = {}
        self._releasing: set[str] = set()  # pairings the queue itself is ending
        self._owner: asyncio.Task[Any] | None = None  # the task applying an event (see handle)
        self.snapshot_every = SNAPSHOT_EVERY
        self._since_snapshot = 0
        self._deferred: list[tuple[ev.Event, str]] = []
        self.tasks = TaskSet()
        self.session_faults = SessionFaults()
        self._capacity_dirty: dict[str, None] = {}  # hubs whose free slots changed, in order
        self._capacity_flush: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        db = self.server.db
        await db.call(db.sync.migrate_feature, "queue", records.STEPS)
        self.scheduler = await self._restore(self.server.clock())
        if self.scheduler.tickets or self.scheduler.booths:
            log.info("queue resumed", extra={"fields": {
                "tickets": len(self.scheduler.tickets), "booths": len(self.scheduler.booths)}})
        # Nobody is connected yet: hubs come back online when they announce capacity.
        for hub in list(self.scheduler.hubs.values()):
            if hub.online:
                self._arm_failover(hub.id)
        self._arm()
        self.tasks.spawn(self._refresh_stats(), "queue-stats")

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
        await self.tasks.cancel_all()

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
                records.save, self.server.db.sync, snapshot, now, actor,
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
        state, _seq, later = await db.call(records.load_state, db.sync)
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
            delay, lambda: self.tasks.spawn(self._tick(), "queue-tick"))

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
            await self._unpair(d.booth, UNPAIR_REASON[d.reason])
            await self._pair(d.booth, d.hub, d.ticket)
        elif isinstance(d, de.Unpair):
            await self._unpair(d.booth, UNPAIR_REASON[d.reason])
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
            for called in calls_now(self.scheduler):
                await self.server.send_to(conn.device_id, called)

    async def on_disconnect(self, device: str, role: Role) -> None:
        if role is Role.HUB and device in self.scheduler.hubs:
            self._arm_failover(device)

    def _arm_failover(self, hub: str) -> None:
        old = self._failover.pop(hub, None)
        if old is not None:
            old.cancel()
        self._failover[hub] = asyncio.get_running_loop().call_later(
            self.hub_failover_s, lambda: self.tasks.spawn(self._hub_gone(hub), f"failover-{hub}"))

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
        broken = broken_parts(msg.health)
        if broken and not booth.faulty:
            reason = fault_reason(broken)
            if booth.state is BoothState.OCCUPIED and booth.ticket is not None:
                # Someone is seated: the session finishes first (signaling.sessionfaults).
                await self._fault_in_session(conn.device_id, reason)
                return
            self.session_faults.recovered(booth.id)
            await self.safe(ev.BoothFaulty(booth=conn.device_id, reason=reason), conn.device_id)
        elif not broken:
            self.session_faults.recovered(booth.id)
            if booth.faulty and booth.fault != "offline":
                await self.safe(ev.BoothHealthy(booth=conn.device_id), conn.device_id)

    async def _fault_in_session(self, booth_id: str, reason: str) -> None:
        """Hold the fault until the session ends; tell the officer once per fault."""
        booth = self.scheduler.booths[booth_id]
        if not self.session_faults.hold(booth_id, reason) or booth.ticket is None:
            return
        alert = officer_alert(booth_id, reason, booth.ticket)
        if booth.hub is not None:
            await self.server.send_to(booth.hub, alert)
        else:
            await self.server.broadcast(Role.HUB, alert)
        await self.server.db.call(self.server.db.sync.audit, self.server.clock(), booth_id,
                                  "device_fault_in_session", booth.ticket, {"reason": reason})

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
            self._capacity_flush = self.tasks.spawn(self._flush_capacity(),
                                                    "queue-capacity-sync")

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

    # -- views ------------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        return queue_view(self.scheduler, self.branch, self.server.clock())

    async def stats(self, since: float) -> dict[str, Any]:
        """The figures since ``since``, computed off the event loop (a day is thousands of
        journal rows; devices' messages must not wait behind them)."""
        rows = await self.server.db.call(records.journal, self.server.db.sync, since)
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
