"""The branch server's door: how many sockets, from whom, and how long each may dawdle.

Every TCP connection passes :class:`ConnectionGate` before aiohttp sees it:

- at most :data:`~signaling.limits.MAX_CONNECTIONS_PER_ADDRESS` from one address, and no
  more in all than the file-descriptor limit allows less a reserve
  (:data:`~signaling.limits.FD_RESERVE`) for the database, documents and logs. Beyond
  either, the connection is answered ``503`` with ``Retry-After`` and closed at once, and
  the refusals are logged once per spell (one line when it starts, one when it ends), not
  once per attempt;
- an HTTP request's headers must arrive within ``header_read_s`` of its first byte (or of
  the connection, if nothing comes);
- once a socket is a WebSocket, a message must be whole within ``frame_assembly_s`` of
  its first byte (:class:`~signaling.framewatch.FrameWatch`).

The gate wraps aiohttp's protocol (:class:`GatedProtocol` forwards every call), so aiohttp
runs unchanged behind it; :class:`GatedSite` is the listening socket with the gate in front.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from signaling import limits
from signaling.framewatch import FrameWatch
from signaling.heap import HeapTrimmer

log = logging.getLogger(__name__)

REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 36\r\nConnection: close\r\n\r\nbranch server busy: try again later\n")


def fd_budget(reserve: int = limits.FD_RESERVE) -> int:
    """Sockets the process may still open: the soft descriptor limit less what is open
    already and a reserve (the database, its WAL, document files, the log)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    try:
        import os

        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 16
    return max(1, soft - in_use - reserve)


def raise_fd_limit(target: int = 65536) -> int:
    """Raise the soft descriptor limit towards the hard one (systemd's LimitNOFILE); returns
    the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return int(soft)


@dataclass
class Tracked:
    """One admitted connection."""

    address: str
    header_timer: asyncio.TimerHandle | None = None
    in_request: bool = False
    frames: FrameWatch | None = None  # set once the socket is a WebSocket


@dataclass
class RefusalSpell:
    """Refusals are logged when a spell of them starts and when it ends, not each."""

    reason: str = ""
    count: int = 0
    since: float = 0.0
    addresses: Counter[str] = field(default_factory=Counter)


class ConnectionGate:
    def __init__(
        self, *, per_address: int = limits.MAX_CONNECTIONS_PER_ADDRESS,
        max_open: int | None = None, header_read_s: float = limits.HEADER_READ_S,
        frame_assembly_s: float = limits.FRAME_ASSEMBLY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.max_open = max_open if max_open is not None else fd_budget()
        self.header_read_s = header_read_s
        self.frame_assembly_s = frame_assembly_s
        self.monotonic = monotonic
        self.open: dict[asyncio.BaseTransport, Tracked] = {}
        self.by_address: Counter[str] = Counter()
        self.spell = RefusalSpell()
        self.refused: Counter[str] = Counter()  # by reason, since start
        self.heap = HeapTrimmer()
        self.cut: Counter[str] = Counter()  # connections closed for dawdling, by reason

    # -- admission ------------------------------------------------------------------------

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "local"
        if len(self.open) >= self.max_open:
            self._refuse("file descriptors", address)
            return False
        if self.by_address[address] >= self.per_address:
            self._refuse("connections per address", address)
            return False
        self._end_spell()
        self.open[transport] = Tracked(address)
        self.by_address[address] += 1
        self.heap.connections(len(self.open))
        self._arm_header_timer(transport)
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        tracked = self.open.pop(transport, None)
        if tracked is None:
            return
        if tracked.header_timer is not None:
            tracked.header_timer.cancel()
        self.by_address[tracked.address] -= 1
        if self.by_address[tracked.address] <= 0:
            del self.by_address[tracked.address]
        self.heap.connections(len(self.open))

    def _refuse(self, reason: str, address: str) -> None:
        self.refused[reason] += 1
        spell = self.spell
        if spell.count == 0 or spell.reason != reason:
            self._end_spell()
            self.spell = spell = RefusalSpell(reason, 0, self.monotonic())
            log.warning("refusing new connections", extra={"fields": {
                "reason": reason, "open": len(self.open), "max_open": self.max_open,
                "per_address": self.per_address, "address": address}})
        spell.count += 1
        spell.addresses[address] += 1

    def _end_spell(self) -> None:
        spell = self.spell
        if spell.count:
            log.warning("accepting connections again", extra={"fields": {
                "reason": spell.reason, "refused": spell.count,
                "seconds": round(self.monotonic() - spell.since, 1),
                "addresses": dict(spell.addresses.most_common(5))}})
        self.spell = RefusalSpell()

    # -- HTTP headers ---------------------------------------------------------------------

    def _arm_header_timer(self, transport: asyncio.BaseTransport) -> None:
        tracked = self.open[transport]
        if tracked.header_timer is None:
            tracked.header_timer = asyncio.get_running_loop().call_later(
                self.header_read_s, self._headers_late, transport)

    def _headers_late(self, transport: asyncio.BaseTransport) -> None:
        tracked = self.open.get(transport)
        if tracked is None:
            return
        tracked.header_timer = None
        if tracked.in_request or tracked.frames is not None:
            return
        self.cut["slow_headers"] += 1
        log.info("connection closed: request headers too slow", extra={"fields": {
            "address": tracked.address, "seconds": self.header_read_s}})
        transport.close()

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        tracked = self.open.get(transport) if transport is not None else None
        if tracked is not None:
            tracked.in_request = True
            if tracked.header_timer is not None:
                tracked.header_timer.cancel()
                tracked.header_timer = None

    def request_done(self, transport: asyncio.BaseTransport | None) -> None:
        tracked = self.open.get(transport) if transport is not None else None
        if tracked is not None:
            tracked.in_request = False

    # -- WebSocket frames -----------------------------------------------------------------

    def watch_frames(self, transport: asyncio.BaseTransport | None) -> None:
        """From now on the client's bytes are WebSocket frames."""
        tracked = self.open.get(transport) if transport is not None else None
        if tracked is not None:
            tracked.frames = FrameWatch()

    def received(self, transport: asyncio.BaseTransport, data: bytes) -> None:
        tracked = self.open.get(transport)
        if tracked is None:
            return
        if tracked.frames is not None:
            now = self.monotonic()
            tracked.frames.feed(data, now)
            if tracked.frames.overdue(now, self.frame_assembly_s):
                self.cut["slow_frame"] += 1
                log.info("connection closed: a WebSocket message took too long", extra={
                    "fields": {"address": tracked.address, "seconds": self.frame_assembly_s}})
                transport.close()
        elif not tracked.in_request:
            self._arm_header_timer(transport)  # the first byte of the next request

    def stats(self) -> dict[str, Any]:
        return {"open": len(self.open), "max_open": self.max_open,
                "refused": dict(self.refused), "cut": dict(self.cut),
                "memory_trims": self.heap.trims}

    # -- the protocol in front of aiohttp -------------------------------------------------

    def protocol_factory(self, inner: Callable[[], asyncio.Protocol]
                         ) -> Callable[[], asyncio.Protocol]:
        return lambda: GatedProtocol(self, inner)


class GatedProtocol(asyncio.Protocol):
    """Admits or refuses a connection, then forwards everything to aiohttp's protocol."""

    def __init__(self, gate: ConnectionGate, inner: Callable[[], asyncio.Protocol]) -> None:
        self.gate = gate
        self._make_inner = inner
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self.gate.admit(transport):
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(REFUSAL)
            transport.close()
            return
        self.inner = self._make_inner()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        assert self.transport is not None
        self.gate.received(self.transport, data)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.gate.release(self.transport)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


class GatedSite(web.TCPSite):
    """aiohttp's TCP site with the gate in front of every connection."""

    __slots__ = ("_gate",)

    def __init__(self, runner: web.BaseRunner, gate: ConnectionGate, host: str, port: int,
                 **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self._gate = gate

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            self._gate.protocol_factory(server), self._host, self._port,
            backlog=self._backlog, reuse_address=self._reuse_address)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
