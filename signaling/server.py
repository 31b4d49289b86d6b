"""The branch server: device WebSocket, pairing, SDP/ICE relay, health and metrics.

One :class:`BranchServer` per process holds the live state (connections, the
pairing book) and the durable store. :func:`signaling.app.make_app` wraps it in an
aiohttp application: ``/ws`` for devices, ``/healthz``, ``/metrics``, the admin API
under ``/api`` and the features. Everything a device is told is committed to the store first.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bilik.tasks import TaskSet
from signaling import crashpoint, limits, relay, tokens
from signaling import protocol as p
from signaling.config import ServerConfig
from signaling.connection import Connection
from signaling.errors import ProtocolError
from signaling.gate import ConnectionGate
from signaling.metrics import ServerMetrics
from signaling.pairing import Pairing, PairingBook, pair_message
from signaling.protocol import ErrorCode, ReleaseReason, Role
from signaling.resumewindow import ResumeWindow
from signaling.revocationlist import Revocations
from signaling.sockets import DeviceSockets
from signaling.store import AsyncStore, PairingRecord

log = logging.getLogger(__name__)

# A feature's handler for one message type (see BranchServer.handlers).
Handler = Callable[["Connection", p.Message], Awaitable[None]]

SERVER_KEY: web.AppKey[BranchServer] = web.AppKey("bilik_server")

SOFTWARE = "bilik-server/1"


class BranchServer(DeviceSockets):
    """Live state of the branch and the handlers that change it; its device sockets are
    :class:`~signaling.sockets.DeviceSockets`, its relay :mod:`signaling.relay`."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.metrics = ServerMetrics()
        # The door every socket passes when served by GatedSite (bilik server); under
        # another site (aiohttp's TestServer) it sees no connection and does nothing.
        self.gate = ConnectionGate(
            per_address=config.max_connections_per_address,
            header_read_s=config.header_read_s, frame_assembly_s=config.frame_assembly_s,
            monotonic=monotonic)
        self.book = PairingBook()
        self.connections: dict[str, Connection] = {}
        self.offline_since: dict[str, float] = {}
        self.roles: dict[str, Role] = {}  # every device ever seen, for offline hooks
        self.resume = ResumeWindow(config.resume_window_s, self._window_over)
        self.tasks = TaskSet()
        self.secret = b""
        self.revocations = Revocations()  # refreshed by signaling.revocation
        self.store: AsyncStore | None = None
        self.started_at = 0.0
        self.stopping = False
        # Features (the queue, documents, decisions) add handlers for their message types,
        # and hooks that run when a device comes or goes.
        self.handlers: dict[str, Handler] = {}
        self.on_connect: list[Callable[[Connection], Awaitable[None]]] = []
        self.on_offline: list[Callable[[str, Role], Awaitable[None]]] = []
        self.on_disconnect: list[Callable[[str, Role], Awaitable[None]]] = []
        self.on_status: list[Callable[[Connection, p.Status], Awaitable[None]]] = []
        self.on_pair: list[Callable[[Pairing], Awaitable[None]]] = []
        # (pairing, reason, actor) after a pairing ended, whoever ended it.
        self.on_release: list[Callable[[Pairing, ReleaseReason, str], Awaitable[None]]] = []
        self.on_start: list[Callable[[], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        data_dir = self.config.data_dir
        self.secret = tokens.load_or_create_secret(data_dir)
        self.store = AsyncStore(data_dir / "bilik.sqlite3")
        store = self.store
        await store.call(store.sync.mark_all_offline)
        for device_row in await store.call(store.sync.devices):
            self.roles[device_row["id"]] = Role(device_row["role"])
        self.started_at = self.monotonic()
        # Pairings survive a restart; their devices get the resume window to come back.
        for record in await store.call(store.sync.active_pairings):
            self.book.add(Pairing(record.id, record.booth, record.hub, record.ticket,
                                  record.number, record.service))
            for device in (record.booth, record.hub):
                self.resume.start(device)
        self.metrics.pairings_active.set(len(self.book.pairings))
        await store.call(store.sync.audit, self.clock(), "server", "start", "",
                         {"pairings": len(self.book.pairings)})
        for hook in self.on_start:
            await hook()
        log.info("branch server started", extra={"fields": {
            "data_dir": str(data_dir), "pairings": len(self.book.pairings)}})

    async def stop(self) -> None:
        self.stopping = True  # from now on device messages are not acted upon
        for hook in self.on_stop:
            with contextlib.suppress(Exception):
                await hook()
        self.resume.clear()
        for conn in list(self.connections.values()):
            conn.closing = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=limits.CLOSE_GOING_AWAY, message=b"server shutting down")
        await self.tasks.cancel_all()
        if self.store is not None:
            store, self.store = self.store, None
            with contextlib.suppress(Exception):
                await store.call(store.sync.audit, self.clock(), "server", "stop")
            store.close()

    # -- resume window --------------------------------------------------------------------

    def _window_over(self, device: str) -> None:
        self.tasks.spawn(self._expire(device), f"expire-{device}")

    async def _expire(self, device: str) -> None:
        self.resume.forget(device)
        if device in self.connections:
            return
        for pairing in self.book.of_device(device):
            await self.release(pairing.id, ReleaseReason.PEER_OFFLINE, actor="server")
        log.info("resume window over", extra={"fields": {"device": device}})
        role = self.roles.get(device)
        if role is not None:
            for hook in self.on_offline:
                await hook(device, role)

    # -- dispatch -------------------------------------------------------------------------

    async def _dispatch(self, conn: Connection, msg: p.Message) -> None:
        handler = self.handlers.get(msg.TYPE)
        if handler is not None:
            await handler(conn, msg)
        elif isinstance(msg, p.RELAYED):
            await self._relay(conn, msg)
        elif isinstance(msg, p.Status):
            await self.db.call(self.db.sync.device_status, conn.device_id, msg.state,
                               dict(msg.health), self.clock())
            await self._send(conn, p.Ok(ref=msg.id))
            for hook in self.on_status:
                await hook(conn, msg)
        elif isinstance(msg, p.Capacity):
            self.book.set_capacity(conn.device_id, msg.slots)
            await self._send(conn, p.Ok(ref=msg.id))
            await self.pair_waiting()
        elif isinstance(msg, p.ServiceRequest):
            await self.service_request(conn, msg)
        elif isinstance(msg, p.Release):
            if self.book.counterpart(msg.pairing, conn.device_id) is None:
                raise ProtocolError(ErrorCode.NOT_PAIRED,
                                    f"pairing {msg.pairing} is not yours or not active")
            # ``release`` records it (committed) and tells both sides; only then the ok.
            await self.release(msg.pairing, ReleaseReason(msg.reason), actor=conn.device_id,
                               ack=(conn, msg.id))
        else:
            raise ProtocolError(ErrorCode.FORBIDDEN,
                                f"{msg.TYPE!r} is not served by this branch server")

    async def _relay(self, conn: Connection, msg: Any) -> None:
        other = relay.relay_target(self.book, conn.device_id, msg)
        target = self.connections.get(other)
        if target is None:
            raise ProtocolError(ErrorCode.PEER_OFFLINE, f"{other} is offline")
        self.metrics.relayed.inc()
        await self._send(target, relay.forwarded(msg, conn.device_id))

    async def service_request(self, conn: Connection, msg: p.ServiceRequest) -> None:
        """A booth asks for any hub, outside the queue (diagnostics, benchmarks)."""
        existing = self.book.of_booth(conn.device_id)
        await self._send(conn, p.Ok(ref=msg.id))
        if existing is not None:
            await self._send(conn, pair_message(existing))
            return
        position = self.book.wait(conn.device_id)
        log.info("booth waiting for a hub", extra={"fields": {
            "booth": conn.device_id, "position": position}})
        await self.pair_waiting()

    async def pair_waiting(self) -> None:
        while self.book.waiting:
            hub = self.book.choose_hub()
            if hub is None:
                return
            await self.pair(self.book.waiting[0], hub, actor="server")

    async def pair(
        self, booth: str, hub: str, *, actor: str, ticket: str = "", number: str = "",
        service: str = "",
    ) -> Pairing:
        """Record a new pairing, then tell both sides (Pair carries the ticket, if any)."""
        pairing = Pairing(f"p-{uuid.uuid4().hex[:12]}", booth, hub, ticket, number, service)
        self.book.add(pairing)  # reserve the slot before awaiting the disk
        try:
            await self.db.call(
                self.db.sync.add_pairing,
                PairingRecord(pairing.id, booth, hub, self.clock(), ticket=ticket,
                              number=number, service=service),
                actor=actor,
            )
        except Exception:
            self.book.remove(pairing.id)
            raise
        self.metrics.pairings.inc()
        self.metrics.pairings_active.set(len(self.book.pairings))
        log.info("paired", extra={"fields": {"booth": booth, "hub": hub, "pairing": pairing.id,
                                             "ticket": ticket}})
        for device in (booth, hub):
            target = self.connections.get(device)
            if target is not None:
                await self._send(target, pair_message(pairing))
        for hook in self.on_pair:
            await hook(pairing)
        return pairing

    async def release(self, pairing_id: str, reason: ReleaseReason, *, actor: str,
                      ack: tuple[Connection, str] | None = None) -> bool:
        """End a pairing, record it, and tell both sides; frees the hub's slot.

        ``ack`` (connection, message id) gets its ``ok`` once the release is committed."""
        pairing = self.book.remove(pairing_id)
        if pairing is None:
            return False
        await self.db.call(self.db.sync.release_pairing, pairing_id, self.clock(), reason.value,
                           actor=actor)
        crashpoint.reached("release.committed")
        if ack is not None:
            await self._send(ack[0], p.Ok(ref=ack[1]))
            crashpoint.reached("release.acknowledged")
        self.metrics.pairings_active.set(len(self.book.pairings))
        log.info("released", extra={"fields": {"pairing": pairing_id, "reason": reason.value}})
        notice = p.Release(pairing=pairing_id, reason=reason.value)
        for device in (pairing.booth, pairing.hub):
            target = self.connections.get(device)
            if target is not None:
                await self._send(target, notice)
        for hook in self.on_release:
            await hook(pairing, reason, actor)
        await self.pair_waiting()
        return True


    # -- views ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        by_role: dict[str, int] = {}
        for conn in self.connections.values():
            by_role[conn.role.value] = by_role.get(conn.role.value, 0) + 1
        return {
            "status": "ok",
            "uptime_s": round(self.monotonic() - self.started_at, 1),
            "devices": by_role,
            "pairings": len(self.book.pairings),
            "waiting": len(self.book.waiting),
            "connections": self.gate.stats(),
        }

