"""The device sockets of the branch server: from a socket's hello to its departure.

:class:`DeviceSockets` is the socket half of :class:`signaling.server.BranchServer`: it
authenticates the hello, registers the connection (the newest of one identity wins), reads
frames under the rate limit and the inbox bound while a worker processes them in order, and
records the departure. What a message means is the server's (:meth:`_dispatch`); what a
departure starts is the resume window (:mod:`signaling.resumewindow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from bilik.tasks import TaskSet
from signaling import certauth, limits, policy
from signaling import protocol as p
from signaling.config import ServerConfig
from signaling.connection import Connection, Joined
from signaling.errors import ProtocolError, TokenError
from signaling.gate import ConnectionGate
from signaling.metrics import ServerMetrics
from signaling.pairing import PairingBook, pair_message
from signaling.protocol import ErrorCode, Role
from signaling.queue.errors import QueueError
from signaling.ratelimit import TokenBucket, WindowCounter
from signaling.resumewindow import ResumeWindow
from signaling.revocationlist import Revocations
from signaling.store import AsyncStore

log = logging.getLogger("signaling.server")


class DeviceSockets:
    """The connections of the devices; the server (its subclass) sets these up."""

    config: ServerConfig
    clock: Callable[[], float]
    monotonic: Callable[[], float]
    metrics: ServerMetrics
    gate: ConnectionGate
    book: PairingBook
    connections: dict[str, Connection]
    offline_since: dict[str, float]
    roles: dict[str, Role]
    resume: ResumeWindow
    tasks: TaskSet
    secret: bytes
    revocations: Revocations
    store: AsyncStore | None
    stopping: bool
    on_connect: list[Callable[[Connection], Awaitable[None]]]
    on_disconnect: list[Callable[[str, Role], Awaitable[None]]]

    @property
    def db(self) -> AsyncStore:
        if self.store is None:
            raise RuntimeError("branch server is not started")
        return self.store

    async def _dispatch(self, conn: Connection, msg: p.Message) -> None:
        """Act on one admitted message of a live connection (the server's)."""
        raise NotImplementedError

    # -- one device socket, from its hello to its departure ----------------------------------

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
                worker = self.tasks.spawn(self._work(conn), f"work-{conn.device_id}")
                await self._serve(conn)
        finally:
            # aiohttp cancels this handler once the peer's TCP connection is gone; the
            # bookkeeping of a departure must still run to its end, so it gets its own task.
            await asyncio.shield(
                self.tasks.spawn(self._departed(conn, worker), f"gone-{conn.device_id}"))
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
        resumed = self.resume.cancel(device) or old is not None
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
            await self._send(conn, pair_message(pairing))
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
        self.resume.start(device)
        for hook in self.on_disconnect:
            await hook(device, conn.role)


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

