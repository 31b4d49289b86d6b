"""The signaling client that booth agents and officer hubs use to talk to the branch server.

It owns one WebSocket, authenticates with the device's token, hands every
message to ``on_message``, answers request/reply pairs, and reconnects by itself
with capped backoff and jitter (resuming the session inside the server's resume
window). A rejected credential is not retried: the client stops in
``ClientState.REJECTED`` and says why. So is a token that names another device than the one
configured (``device_id``) or a device of another role (``role``): the identity check of every
agent, here once.

Its errors are its own (:class:`ClientError` and below), so that an agent needs nothing of the
server's internals to handle them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import ssl
from collections.abc import Awaitable, Callable

import aiohttp

from bilik.backoff import Backoff
from signaling import limits
from signaling import protocol as p
from signaling.errors import ProtocolError, SignalingError

log = logging.getLogger(__name__)

MessageHandler = Callable[[p.Message], Awaitable[None]]
StateHandler = Callable[["ClientState"], None]


class ClientError(SignalingError):
    """The signaling client could not do what was asked."""


class NotConnected(ClientError):
    """Not connected to the branch server (yet, or any more); the client keeps trying."""


class Refused(ClientError):
    """The branch server refused this device, or its token names another device or role;
    the client does not retry."""


class RequestFailed(ClientError):
    """The server answered a request with an error reply."""

    def __init__(self, code: str, detail: str, text_key: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.text_key = text_key  # catalogue text for a participant, when there is one


class ClientState(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKOFF = "backoff"
    REJECTED = "rejected"
    CLOSED = "closed"


class SignalingClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        on_message: MessageHandler | None = None,
        on_state: StateHandler | None = None,
        software: str = "",
        device_id: str | None = None,
        role: p.Role | None = None,
        backoff: Backoff | None = None,
        heartbeat_s: float = limits.HEARTBEAT_INTERVAL_S,
        max_frame_bytes: int = limits.MAX_FRAME_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.on_message = on_message
        self.on_state = on_state
        self.software = software
        self.device_id = device_id  # the device this one is configured as; None: any
        self.role = role  # the role this agent plays; None: any
        self.backoff = backoff or Backoff(limits.RECONNECT_MIN_S, limits.RECONNECT_MAX_S)
        self.heartbeat_s = heartbeat_s
        self.max_frame_bytes = max_frame_bytes
        # wss://: the branch CA, and the device's certificate once enrolled (bilik.tls).
        self.ssl_context = ssl_context
        self.state = ClientState.IDLE
        self.welcome: p.Welcome | None = None
        self.rejected_reason = ""
        self.connects = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._pending: dict[str, asyncio.Future[p.Message]] = {}

    # -- public ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            raise ClientError("client already started")
        self._http = aiohttp.ClientSession()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="signaling-client")

    async def wait_connected(self, timeout: float) -> p.Welcome:
        """Wait until the server welcomed us; raise ClientError if rejected or timed out."""
        waiter = asyncio.ensure_future(self._connected.wait())
        done_task = self._task
        try:
            watch = {waiter} | ({done_task} if done_task else set())
            await asyncio.wait(watch, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
        if self.state is ClientState.CONNECTED and self.welcome is not None:
            return self.welcome
        if self.state is ClientState.REJECTED:
            raise Refused(self.rejected_reason)
        raise NotConnected(f"not connected to {self.url} after {timeout:g} s")

    @property
    def connected(self) -> bool:
        return self.state is ClientState.CONNECTED

    async def send(self, msg: p.Message) -> None:
        ws = self._ws
        if ws is None or ws.closed or self.state is not ClientState.CONNECTED:
            raise NotConnected(f"cannot send {msg.TYPE}: not connected")
        try:
            await ws.send_str(p.encode(msg))
        except (ConnectionError, RuntimeError) as exc:
            raise NotConnected(f"cannot send {msg.TYPE}: {exc}") from None

    async def request(self, msg: p.Message, timeout: float = limits.REQUEST_TIMEOUT_S
                      ) -> p.Message:
        """Send ``msg`` and wait for the reply naming it (its ``ref``): Ok or a typed reply.

        An Error reply raises RequestFailed, carrying the catalogue key of the text to show.
        """
        future: asyncio.Future[p.Message] = asyncio.get_running_loop().create_future()
        self._pending[msg.id] = future
        try:
            await self.send(msg)
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise ClientError(f"no reply to {msg.TYPE} within {timeout:g} s") from None
        finally:
            self._pending.pop(msg.id, None)
        if isinstance(reply, p.Error):
            raise RequestFailed(reply.code, reply.detail, reply.text_key)
        return reply

    async def close(self) -> None:
        self._set_state(ClientState.CLOSED)
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._fail_pending(NotConnected("client closed"))

    # -- connection loop ------------------------------------------------------------------

    def _set_state(self, state: ClientState) -> None:
        if state is self.state:
            return
        self.state = state
        if state is ClientState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:
                log.exception("state handler failed")

    async def _run(self) -> None:
        assert self._http is not None
        while self.state is not ClientState.CLOSED:
            self._set_state(ClientState.CONNECTING)
            try:
                async with self._http.ws_connect(
                    self.url, heartbeat=self.heartbeat_s, max_msg_size=self.max_frame_bytes,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                    ssl=self.ssl_context if self.ssl_context is not None else True,
                ) as ws:
                    self._ws = ws
                    if await self._hello(ws):
                        self.backoff.reset()
                        await self._read(ws)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("cannot reach the branch server", extra={"fields": {
                    "url": self.url, "error": str(exc) or type(exc).__name__}})
            finally:
                self._ws = None
                self._fail_pending(NotConnected("connection lost"))
            if self.state in (ClientState.CLOSED, ClientState.REJECTED):
                return
            self._set_state(ClientState.BACKOFF)
            await asyncio.sleep(self.backoff.next_delay())

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        hello = p.Hello(token=self.token, resume=self.welcome is not None,
                        software=self.software)
        await ws.send_str(p.encode(hello))
        msg = await ws.receive(timeout=limits.HELLO_TIMEOUT_S)
        if msg.type != aiohttp.WSMsgType.TEXT:
            log.info("server closed during hello", extra={"fields": {"code": ws.close_code}})
            return False
        try:
            reply = p.parse(msg.data, max_bytes=self.max_frame_bytes)
        except ProtocolError as exc:
            log.warning("server sent a bad welcome", extra={"fields": {"detail": exc.detail}})
            return False
        if isinstance(reply, p.Error):
            self.rejected_reason = f"the branch server refused this device: {reply.detail}"
            log.error("branch server refused this device", extra={"fields": {
                "code": reply.code, "detail": reply.detail}})
            if reply.code in (p.ErrorCode.UNAUTHORIZED, p.ErrorCode.FORBIDDEN):
                # A credential does not get better by retrying: stop and say so.
                self._set_state(ClientState.REJECTED)
            return False
        if not isinstance(reply, p.Welcome):
            return False
        wrong = self._not_me(reply)
        if wrong:
            # The token names another device: serving as it would answer its calls.
            self.rejected_reason = wrong
            log.error("token names another device", extra={"fields": {"detail": wrong}})
            self._set_state(ClientState.REJECTED)
            return False
        self.welcome = reply
        self.connects += 1
        self._set_state(ClientState.CONNECTED)
        log.info("connected to branch server", extra={"fields": {
            "device": reply.device_id, "resumed": reply.resumed}})
        return True

    def _not_me(self, welcome: p.Welcome) -> str:
        """Why the welcome names another device than this one is configured as; "" if not."""
        if self.role is not None and welcome.role != self.role:
            return f"the token is for a {welcome.role}, not a {self.role}"
        if self.device_id is not None and welcome.device_id != self.device_id:
            return (f"the token is for device {welcome.device_id!r}, but this {welcome.role} "
                    f"is configured as {self.device_id!r}")
        return ""

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                msg = p.parse(raw.data, max_bytes=self.max_frame_bytes)
            except ProtocolError as exc:
                log.warning("ignoring bad message from server", extra={"fields": {
                    "detail": exc.detail}})
                continue
            future = self._pending.get(msg.ref) if msg.ref else None
            if future is not None and not future.done():
                # Any message naming the request answers it: Ok, Error, or a typed reply
                # such as TicketInfo or Verdict.
                future.set_result(msg)
                continue
            if self.on_message is not None:
                try:
                    await self.on_message(msg)
                except Exception:
                    log.exception("message handler failed", extra={"fields": {"type": msg.TYPE}})
        log.info("disconnected from branch server", extra={"fields": {"code": ws.close_code}})

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()
