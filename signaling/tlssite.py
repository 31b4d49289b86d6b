"""The branch server's listening socket when it speaks TLS: https:// and wss:// only.

Each accepted socket's first byte is looked at without reading it (``MSG_PEEK``): a TLS
client begins with a handshake record (``0x16``) and is handed to asyncio's TLS with the
connection gate in front, like the plain site (:class:`signaling.gate.GatedSite`). Anything
else is a plain client: it gets one clear ``400`` saying to use https:// or wss://, and is
closed. A plain client would otherwise see only a broken handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
from collections import Counter
from typing import Any

from aiohttp import web

from signaling import limits
from signaling.gate import ConnectionGate

log = logging.getLogger(__name__)

TLS_HANDSHAKE_RECORD = 0x16
PLAIN_REFUSAL_TEXT = (b"this branch server speaks TLS only: use https:// and wss:// with the "
                      b"branch CA (ca_file); plain http:// and ws:// are refused\n")
PLAIN_REFUSAL = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 b"Connection: close\r\nContent-Length: " + str(len(PLAIN_REFUSAL_TEXT)).encode()
                 + b"\r\n\r\n" + PLAIN_REFUSAL_TEXT)


class _Listener:
    """What aiohttp's site stops: the accept loop and the listening socket."""

    def __init__(self, sock: socket.socket, accepting: asyncio.Task[None],
                 sniffing: set[asyncio.Task[None]]) -> None:
        self.sock = sock
        self.accepting = accepting
        self.sniffing = sniffing

    def close(self) -> None:
        self.accepting.cancel()
        for task in list(self.sniffing):
            task.cancel()
        self.sock.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self.accepting
        if self.sniffing:
            await asyncio.gather(*self.sniffing, return_exceptions=True)


class TlsSite(web.BaseSite):
    """A TCP site serving TLS only, with the gate in front of every connection."""

    def __init__(self, runner: web.BaseRunner, gate: ConnectionGate, host: str, port: int,
                 context: ssl.SSLContext, *, backlog: int = 1024) -> None:
        super().__init__(runner, backlog=backlog)
        self._gate = gate
        self._host = host
        self._port = port
        self._context = context
        self._listener: _Listener | None = None
        self._waiting: Counter[str] = Counter()  # sockets before their handshake, by address
        self.refused_plain = 0
        self.refused_early = 0

    @property
    def name(self) -> str:
        return f"https://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        return self._listener.sock.getsockname()[1] if self._listener else self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        factory = self._gate.protocol_factory(server)
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host, self._port), family=family,
                                    backlog=self._backlog, reuse_port=False)
        sock.setblocking(False)
        sniffing: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        accepting = loop.create_task(self._accept(sock, factory, sniffing), name="tls-accept")
        self._listener = _Listener(sock, accepting, sniffing)
        self._server: Any = self._listener

    async def wait_closed(self) -> None:
        if self._listener is not None:
            await self._listener.wait_closed()

    async def stop(self) -> None:
        await super().stop()
        await self.wait_closed()

    async def _accept(self, sock: socket.socket, factory: Any,
                      sniffing: set[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, address = await loop.sock_accept(sock)
            except OSError as exc:  # out of descriptors: wait rather than spin
                log.warning("accept failed", extra={"fields": {"error": str(exc)}})
                await asyncio.sleep(0.1)
                continue
            # Before its handshake a socket is not yet the gate's: the same limits apply
            # to those waiting here, so idle sockets cannot eat the descriptors.
            host = str(address[0]) if isinstance(address, tuple) else "local"
            waiting = len(sniffing) + len(self._gate.open)
            if (self._waiting[host] + self._gate.by_address[host] >= self._gate.per_address
                    or waiting >= self._gate.max_open):
                self.refused_early += 1
                conn.close()
                continue
            conn.setblocking(False)
            self._waiting[host] += 1
            task = loop.create_task(self._sniff(conn, factory), name="tls-sniff")
            sniffing.add(task)
            task.add_done_callback(sniffing.discard)
            task.add_done_callback(functools.partial(self._waited, host))

    def _waited(self, host: str, _task: asyncio.Task[None]) -> None:
        self._waiting[host] -= 1
        if self._waiting[host] <= 0:
            del self._waiting[host]

    async def _sniff(self, conn: socket.socket, factory: Any) -> None:
        loop = asyncio.get_running_loop()
        handed_over = False
        try:
            async with asyncio.timeout(limits.TLS_HANDSHAKE_S):
                first = await _peek(loop, conn)
            if first and first[0] == TLS_HANDSHAKE_RECORD:
                await loop.connect_accepted_socket(
                    factory, conn, ssl=self._context,
                    ssl_handshake_timeout=limits.TLS_HANDSHAKE_S)
                handed_over = True
            elif first:
                self.refused_plain += 1
                await loop.sock_sendall(conn, PLAIN_REFUSAL)
        except (OSError, TimeoutError, ssl.SSLError, ConnectionError) as exc:
            log.debug("TLS connection failed", extra={"fields": {"error": repr(exc)}})
        finally:
            if not handed_over:
                conn.close()


async def _peek(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> bytes:
    """The first byte the client sent, left in the socket for TLS to read."""
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(conn.fileno(), readable)
    try:
        await ready
    finally:
        loop.remove_reader(conn.fileno())
    return conn.recv(1, socket.MSG_PEEK)
