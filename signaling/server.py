"""The branch server: device WebSocket, pairing, SDP/ICE relay, health and metrics.

One :class:`BranchServer` per process holds the live state (connections, the
pairing book) and the durable store. :func:`make_app` wraps it in an aiohttp
application: ``/ws`` for devices, ``/healthz``, ``/metrics`` and the admin API
under ``/api``. Everything a device is told is committed to the store first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from signaling import certauth, crashpoint, limits, policy, tokens
from signaling import protocol as p
from signaling.config import ServerConfig
from signaling.connection import Connection, Joined
from signaling.errors import ProtocolError, TokenError
from signaling.gate import ConnectionGate
from signaling.metrics import ServerMetrics
from signaling.pairing import Pairing, PairingBook
from signaling.protocol import ErrorCode, ReleaseReason, Role
from signaling.queue.errors import QueueError
from signaling.queue.rules import QueueRules
from signaling.ratelimit import TokenBucket, WindowCounter
from signaling.revocationlist import Revocations
from signaling.store import AsyncStore, PairingRecord

log = logging.getLogger(__name__)

# A feature's handler for one message type (see BranchServer.handlers).
Handler = Callable[["Connection", p.Message], Awaitable[None]]

SERVER_KEY: web.AppKey[BranchServer] = web.AppKey("bilik_server")

# Features of the branch server, each a module with ``setup(app, server)`` that adds its
# message handlers, device hooks, HTTP routes and tables (Store.migrate_feature).
FEATURES = ("signaling.branchqueue", "signaling.documents", "signaling.readings",
            "signaling.cases", "signaling.helpcalls", "signaling.enrolment",
            "signaling.revocation")
SOFTWARE = "bilik-server/1"


class BranchServer:
    """Live state of the branch and the handlers that change it."""

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
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
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
                self._start_expiry(device)
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
        for handle in self._expiry.values():
            handle.cancel()
        self._expiry.clear()
        for conn in list(self.connections.values()):
            conn.closing = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=limits.CLOSE_GOING_AWAY, message=b"server shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.store is not None:
            store, self.store = self.store, None
            with contextlib.suppress(Exception):
                await store.call(store.sync.audit, self.clock(), "server", "stop")
            store.close()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def db(self) -> AsyncStore:
        if self.store is None:
            raise RuntimeError("branch server is not started")
        return self.store

    # -- connection -----------------------------------------------------------------------

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            heartbeat=self.config.heartbeat_s,
            max_msg_size=self.config.max_frame_bytes,
            receive_timeout=None,
            # No permessage-deflate: a client offering it would make the server hold zlib
            # streams of a few hundred KB per socket, to save bytes on messages of a few
            # hundred bytes on a LAN (the agents never offer it).
            compress=False,
        )
        self.gate.watch_frames(request.transport)  # what follows the upgrade is frames
        await ws.prepare(request)
        joined = await self._authenticate(ws, request.transport)
        if joined is None:
            return ws
        conn = joined.conn
        worker: asyncio.Task[None] | None = None
        # From its registration on, a connection always goes through its departure, even
        # if it is replaced (or its peer vanishes) while it is being welcomed.
        try:
            await self._welcome(joined)
            if self.is_live(conn):
                # Reading and processing are separate: this handler keeps reading the socket
                # (so pings are answered and floods are cut) while the worker processes
                # admitted messages in order, however long one waits for the disk or queue.
                worker = self._spawn(self._work(conn), f"work-{conn.device_id}")
                await self._serve(conn)
        finally:
            # aiohttp cancels this handler once the peer's TCP connection is gone; the
            # bookkeeping of a departure must still run to its end, so it gets its own task.
            await asyncio.shield(
                self._spawn(self._departed(conn, worker), f"gone-{conn.device_id}"))
        return ws

    async def _work(self, conn: Connection) -> None:
        """The connection's worker: its hooks, then each admitted message, in order."""
        try:
            for hook in self.on_connect if self.is_live(conn) else ():
                await hook(conn)
            while (item := await conn.inbox.get()) is not None:
                conn.inbox_bytes -= len(item)
                if conn.inbox_bytes <= limits.MAX_INBOX_BYTES:
                    conn.drained.set()
                if isinstance(item, bytes):
                    await self._bad(conn, ProtocolError(
                        ErrorCode.BAD_MESSAGE, "binary frames are not part of the protocol"))
                else:
                    await self._on_text(conn, item)
        except ConnectionError as exc:
            log.info("device connection lost", extra={"fields": {
                "device": conn.device_id, "error": repr(exc)}})
        except Exception:
            log.exception("device message failed", extra={"fields": {"device": conn.device_id}})
            conn.closing = True
            await conn.ws.close(code=limits.CLOSE_INTERNAL, message=b"internal error")
        finally:
            conn.drained.set()  # a reader waiting for room must not wait for a dead worker

    async def _departed(self, conn: Connection, worker: asyncio.Task[None] | None) -> None:
        """What the device sent before it went is processed first, then its departure.

        The worker is never cancelled: a message half applied (the queue's state changed,
        its journal row not yet written) must finish. With a full inbox, the end marker
        waits for the worker to make room."""
        if worker is None:  # replaced before it was served
            await self._disconnected(conn)
            return
        end = asyncio.ensure_future(conn.inbox.put(None))
        await asyncio.wait({end, worker}, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(worker, return_exceptions=True)
        end.cancel()  # only still pending if the worker ended on an error
        await self._disconnected(conn)

    async def _authenticate(self, ws: web.WebSocketResponse,
                            transport: asyncio.BaseTransport | None) -> Joined | None:
        hello_s = self.config.hello_timeout_s
        try:
            # One deadline for the whole hello: ws.receive(timeout=...) restarts its clock at
            # every ping the peer sends, so a socket answering pings would never be cut off.
            async with asyncio.timeout(hello_s):
                msg = await ws.receive()
        except TimeoutError:
            self.metrics.disconnects.labels("hello_timeout").inc()
            await ws.close(code=limits.CLOSE_HELLO_TIMEOUT, message=b"no hello in time")
            return None
        if msg.type != WSMsgType.TEXT:
            if msg.type not in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                WSMsgType.ERROR):
                await self._reject(ws, ErrorCode.BAD_MESSAGE, "first message must be JSON text")
            return None
        try:
            hello = p.parse(msg.data, max_bytes=self.config.max_frame_bytes)
        except ProtocolError as exc:
            await self._reject(ws, exc.code, exc.detail, exc.ref)
            return None
        if not isinstance(hello, p.Hello):
            await self._reject(ws, ErrorCode.UNAUTHORIZED, "first message must be hello", hello.id)
            return None
        try:
            # The certificate (mutual TLS) names the device; else its token (migration).
            grant = certauth.identify(self, transport, hello.token)
        except TokenError as exc:
            await self._reject(ws, ErrorCode.UNAUTHORIZED, str(exc), hello.id)
            return None
        if grant.role not in policy.DEVICE_ROLES:
            await self._reject(ws, ErrorCode.FORBIDDEN,
                               f"role {grant.role} may not connect as a device", hello.id)
            return None
        device = grant.device_id
        # An identity is the id and its role: an id seen once as a booth stays a booth's, so a
        # token of another role with that id cannot take the booth's place (or its pairing).
        known = self.roles.get(device)
        if known is not None and known is not grant.role:
            await self._reject(ws, ErrorCode.FORBIDDEN,
                               f"{device} is a {known}; a {grant.role} token may not use its id",
                               hello.id)
            return None
        now = self.monotonic()
        conn = Connection(
            ws=ws,
            grant=grant,
            session=secrets.token_hex(8),
            bucket=TokenBucket(self.config.rate_per_s, self.config.rate_burst, now),
            bad=WindowCounter(limits.BAD_MESSAGE_WINDOW_S),
            info={"software": hello.software},
        )
        # Registration is one step with no await in it: of simultaneous hellos for one
        # identity, each replaces the one before, and exactly one connection stays live.
        old = self.connections.get(device)
        resumed = self._cancel_expiry(device) or old is not None
        self.connections[device] = conn
        self.roles[device] = grant.role
        self.offline_since.pop(device, None)
        if grant.role is Role.HUB:
            self.book.set_online(device, True)
        self.metrics.devices.labels(grant.role.value).inc()
        return Joined(conn, old, resumed, hello.id)

    async def _welcome(self, joined: Joined) -> None:
        """Close the connection it replaces, record the device online, say welcome."""
        conn, old = joined.conn, joined.old
        device, role = conn.device_id, conn.role
        if old is not None:
            # The newest connection wins: a booth PC that rebooted must not be locked out
            # by its own half-open socket.
            old.closing = True
            self.metrics.disconnects.labels("replaced").inc()
            log.info("device replaced", extra={"fields": {"device": device}})
            with contextlib.suppress(Exception):
                await old.ws.close(code=limits.CLOSE_REPLACED,
                                   message=b"replaced by a newer connection of the same device")
        if not self.is_live(conn):
            return  # replaced already by a later hello
        await self.db.call(self.db.sync.device_seen, device, role.value, self.clock(),
                           online=True)
        await self._send(conn, p.Welcome(
            ref=joined.hello_id, device_id=device, role=role.value, session=conn.session,
            resumed=joined.resumed, heartbeat_s=self.config.heartbeat_s,
            resume_window_s=self.config.resume_window_s,
        ))
        for pairing in self.book.of_device(device):
            await self._send(conn, self._pair_message(pairing))
        log.info("device connected", extra={"fields": {
            "device": device, "role": role.value, "resumed": joined.resumed}})

    def is_live(self, conn: Connection) -> bool:
        """Whether ``conn`` is its identity's current connection (not replaced or closing)."""
        return not conn.closing and self.connections.get(conn.device_id) is conn

    async def _reject(
        self, ws: web.WebSocketResponse, code: str, detail: str, ref: str | None = None
    ) -> None:
        self.metrics.errors.labels(code).inc()
        with contextlib.suppress(Exception):
            await ws.send_str(p.encode(p.Error(code=code, detail=detail, ref=ref)))
        await ws.close(code=limits.CLOSE_UNAUTHORIZED, message=detail[:120].encode())

    async def _serve(self, conn: Connection) -> None:
        try:
            await self._serve_messages(conn)
        except ConnectionError as exc:
            # aiohttp's receive() answers pings itself and raises if the peer is gone.
            log.info("device connection lost", extra={"fields": {
                "device": conn.device_id, "error": repr(exc)}})

    async def _serve_messages(self, conn: Connection) -> None:
        async for msg in conn.ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                if not await self._admit(conn):
                    break
                conn.inbox_bytes += len(msg.data)
                await conn.inbox.put(msg.data)
                while conn.inbox_bytes > limits.MAX_INBOX_BYTES and not conn.ws.closed:
                    conn.drained.clear()
                    await conn.drained.wait()
            elif msg.type == WSMsgType.ERROR:
                log.info("device socket error", extra={"fields": {
                    "device": conn.device_id, "error": str(conn.ws.exception())}})
                break
            if conn.ws.closed:
                break

    async def _admit(self, conn: Connection) -> bool:
        """Apply the rate limit; close the connection once abuse goes on."""
        if conn.bucket.allow(self.monotonic()):
            conn.rate_warned = False
            return True
        conn.dropped += 1
        if conn.dropped >= self.config.rate_drop_limit:
            self.metrics.disconnects.labels("rate_limit").inc()
            log.warning("device disconnected for flooding", extra={"fields": {
                "device": conn.device_id, "dropped": conn.dropped}})
            conn.closing = True
            await conn.ws.close(code=limits.CLOSE_POLICY, message=b"rate limit exceeded")
            return False
        if not conn.rate_warned:
            conn.rate_warned = True
            await self._error(conn, ErrorCode.RATE_LIMITED,
                              f"more than {self.config.rate_per_s:g} messages a second; "
                              "messages are being dropped")
        return True

    async def _on_text(self, conn: Connection, data: str) -> None:
        if self.stopping or not self.is_live(conn):
            return  # a replaced connection is a ghost: nothing it sends changes state
        self.metrics.messages.labels("_raw").inc()
        try:
            msg = p.parse(data, max_bytes=self.config.max_frame_bytes)
        except ProtocolError as exc:
            await self._bad(conn, exc)
            return
        self.metrics.messages.labels(msg.TYPE).inc()
        if not policy.may_send(conn.role, msg.TYPE):
            await self._error(conn, ErrorCode.FORBIDDEN,
                              f"a {conn.role} may not send {msg.TYPE!r}", msg.id)
            return
        try:
            await self._dispatch(conn, msg)
        except ProtocolError as exc:
            await self._error(conn, exc.code, exc.detail, msg.id)
        except QueueError as exc:
            # The queue refused the event (an invalid field, a wrong state): an error reply,
            # like a protocol error; the queue's state is unchanged (BranchQueue.handle).
            await self._error(conn, exc.code, exc.detail, msg.id, text_key=exc.key or "")

    async def _bad(self, conn: Connection, exc: ProtocolError) -> None:
        await self._error(conn, exc.code, exc.detail, exc.ref)
        if conn.bad.add(self.monotonic()) >= self.config.bad_message_limit:
            self.metrics.disconnects.labels("bad_messages").inc()
            conn.closing = True
            await conn.ws.close(code=limits.CLOSE_POLICY, message=b"too many malformed messages")

    async def _disconnected(self, conn: Connection) -> None:
        device = conn.device_id
        self.metrics.devices.labels(conn.role.value).dec()
        if self.connections.get(device) is not conn:
            return  # replaced by a newer connection
        del self.connections[device]
        if self.store is None:
            return  # shutting down
        self.offline_since[device] = self.monotonic()
        if conn.role is Role.HUB:
            self.book.set_online(device, False)
        self.book.stop_waiting(device)
        if not conn.closing:
            self.metrics.disconnects.labels("lost").inc()
        await self.db.call(self.db.sync.device_seen, device, conn.role.value, self.clock(),
                           online=False)
        log.info("device offline", extra={"fields": {
            "device": device, "close_code": conn.ws.close_code}})
        self._start_expiry(device)
        for hook in self.on_disconnect:
            await hook(device, conn.role)

    # -- resume window --------------------------------------------------------------------

    def _start_expiry(self, device: str) -> None:
        self._cancel_expiry(device)
        loop = asyncio.get_running_loop()
        self._expiry[device] = loop.call_later(
            self.config.resume_window_s,
            lambda: self._spawn(self._expire(device), f"expire-{device}"),
        )

    def _cancel_expiry(self, device: str) -> bool:
        handle = self._expiry.pop(device, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    async def _expire(self, device: str) -> None:
        self._expiry.pop(device, None)
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
        other = self.book.counterpart(msg.pairing, conn.device_id)
        if other is None or other != msg.peer:
            raise ProtocolError(
                ErrorCode.NOT_PAIRED,
                f"{conn.device_id} is not paired with {msg.peer} in pairing {msg.pairing}",
            )
        target = self.connections.get(other)
        if target is None:
            raise ProtocolError(ErrorCode.PEER_OFFLINE, f"{other} is offline")
        # The receiver learns who sent it; the sender cannot choose what the receiver sees.
        forwarded = type(msg)(**{**_fields(msg), "peer": conn.device_id})
        self.metrics.relayed.inc()
        await self._send(target, forwarded)

    async def service_request(self, conn: Connection, msg: p.ServiceRequest) -> None:
        """A booth asks for any hub, outside the queue (diagnostics, benchmarks)."""
        existing = self.book.of_booth(conn.device_id)
        await self._send(conn, p.Ok(ref=msg.id))
        if existing is not None:
            await self._send(conn, self._pair_message(existing))
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
                await self._send(target, self._pair_message(pairing))
        for hook in self.on_pair:
            await hook(pairing)
        return pairing

    @staticmethod
    def _pair_message(pairing: Pairing) -> p.Pair:
        return p.Pair(pairing=pairing.id, booth=pairing.booth, hub=pairing.hub,
                      ticket=pairing.ticket, number=pairing.number, service=pairing.service)

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

    # -- sending --------------------------------------------------------------------------

    async def send_to(self, device: str, msg: p.Message) -> bool:
        """Send to a device if it is connected; returns whether it was."""
        conn = self.connections.get(device)
        if conn is None:
            return False
        await self._send(conn, msg)
        return True

    async def broadcast(self, role: Role, msg: p.Message) -> None:
        for conn in list(self.connections.values()):
            if conn.role is role:
                await self._send(conn, msg)

    async def _send(self, conn: Connection, msg: p.Message) -> None:
        if conn.ws.closed:
            return
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for wraps every send in a new task,
            # one more loop turn per relayed message (relay p99 in bench/signaling.py).
            async with asyncio.timeout(limits.SEND_TIMEOUT_S):
                await conn.ws.send_str(p.encode(msg))
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            log.info("send failed", extra={"fields": {"device": conn.device_id,
                                                      "error": repr(exc)}})

    async def _error(self, conn: Connection, code: str, detail: str, ref: str | None = None,
                     *, text_key: str = "") -> None:
        self.metrics.errors.labels(code).inc()
        await self._send(conn, p.Error(code=code, detail=detail[:2048], ref=ref,
                                       text_key=text_key))

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


def _fields(msg: p.Message) -> dict[str, Any]:
    return {k: v for k, v in p.to_dict(msg).items() if k not in ("v", "type")}


# -- HTTP application ---------------------------------------------------------------------


def make_app(
    config: ServerConfig, *, server: BranchServer | None = None,
    queue_rules: QueueRules | None = None,
) -> web.Application:
    """The aiohttp application of a branch server (see :func:`signaling.app.make_app`)."""
    from signaling.app import make_app as build

    return build(config, server=server, queue_rules=queue_rules)
