"""The booth agent's call side: ask the branch server for an officer, then stream the camera.

The agent connects to the branch server, asks for service, and when the server pairs
it with a hub it offers a send-only VP8 video call to that hub through the server's
relay. Everything it holds can be rebuilt from the server: after any reconnect it asks
for service again, and the server answers with the pairing it already has (``Pair``
is idempotent here: a call that is up, or was set up on this connection, is kept).

What breaks is repaired without a person: an offer not connected within
``NEGOTIATION_TIMEOUT_S`` is made again; a call whose connection fails is released and
service is requested anew; a release from the server is followed by a new request.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from bilik import __version__
from booth import limits
from booth.config import BoothConfig
from booth.errors import BoothError
from booth.peer import BoothPeer, PeerState
from booth.replay import ReplayLoop, ReplayTrack
from hardware.camera import SourceTrack, SyntheticSource
from hardware.testpattern import TestPattern
from signaling import protocol as p
from signaling.client import ClientState, SignalingClient
from signaling.errors import ClientError

log = logging.getLogger(__name__)

SOFTWARE = f"bilik-booth/{__version__}"


class CallState(enum.StrEnum):
    OFFLINE = "offline"  # no connection to the branch server
    WAITING = "waiting"  # asked for service, no hub yet
    CALLING = "calling"  # paired, call being set up
    IN_CALL = "in_call"  # video flowing to the hub


class BoothAgent:
    def __init__(
        self,
        config: BoothConfig,
        token: str,
        *,
        clock: Callable[[], float] = time.time,
        client_factory: Callable[..., SignalingClient] = SignalingClient,
    ) -> None:
        self.config = config
        self.clock = clock
        self.client = client_factory(
            config.server,
            token,
            on_message=self._on_message,
            on_state=self._on_client_state,
            software=SOFTWARE,
        )
        self.device_id: str | None = None
        self.peer: BoothPeer | None = None
        self._peer_connection_no = 0  # client.connects when the peer was made
        self._source: SyntheticSource | None = None
        self._replay: ReplayLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.calls_started = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self.config.source == "replay":
            if self.config.replay_file is None:
                raise BoothError("source = replay needs replay_file")
            self._replay = ReplayLoop.load(self.config.replay_file, self.config.fps)
        else:
            pattern = TestPattern(self.config.width, self.config.height)
            self._source = SyntheticSource(
                pattern.render_bgr, self.config.fps, name="testpattern", clock=self.clock
            )
            self._source.start()
        await self.client.start()

    async def wait_connected(self, timeout: float = limits.CONNECT_TIMEOUT_S) -> str:
        """Wait for the branch server's welcome; returns this booth's device id."""
        welcome = await self.client.wait_connected(timeout)
        if self.config.id is not None and welcome.device_id != self.config.id:
            raise BoothError(
                f"the token is for device {welcome.device_id!r}, but this booth is configured "
                f"as {self.config.id!r}"
            )
        return welcome.device_id

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._drop_peer()
        await self.client.close()
        if self._source is not None:
            self._source.stop()
            self._source = None

    @property
    def state(self) -> CallState:
        if self.client.state is not ClientState.CONNECTED and (
            self.peer is None or self.peer.state is not PeerState.CONNECTED
        ):
            return CallState.OFFLINE
        if self.peer is None:
            return CallState.WAITING
        if self.peer.state is PeerState.CONNECTED:
            return CallState.IN_CALL
        return CallState.CALLING

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- signaling ------------------------------------------------------------------------

    def _on_client_state(self, state: ClientState) -> None:
        if state is ClientState.CONNECTED:
            welcome = self.client.welcome
            if welcome is not None:
                if self.config.id is not None and welcome.device_id != self.config.id:
                    log.error(
                        "token is for %s, configured id is %s", welcome.device_id, self.config.id
                    )
                self.device_id = welcome.device_id
            self._spawn(self._request_service(0.0), "booth-service-request")

    async def _request_service(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.client.send(p.ServiceRequest())
            log.info("asked for an officer")
        except ClientError as exc:
            log.info("cannot ask for service now: %s", exc)  # asked again on reconnect

    async def _on_message(self, msg: p.Message) -> None:
        async with self._lock:
            if isinstance(msg, p.Pair):
                await self._paired(msg)
            elif isinstance(msg, p.Answer):
                if self.peer is not None and msg.pairing == self.peer.pairing:
                    await self.peer.accept_answer(msg.sdp)
            elif isinstance(msg, p.Ice):
                if self.peer is not None and msg.pairing == self.peer.pairing:
                    await self.peer.add_candidate(msg.candidate, msg.sdp_mid, msg.sdp_mline_index)
            elif isinstance(msg, p.Release):
                if self.peer is not None and msg.pairing == self.peer.pairing:
                    log.info("call released", extra={"fields": {"reason": msg.reason}})
                    await self._drop_peer()
                    self._spawn(self._request_service(limits.REREQUEST_DELAY_S), "booth-rerequest")
            elif isinstance(msg, p.Error):
                log.warning(
                    "server error", extra={"fields": {"code": msg.code, "detail": msg.detail}}
                )

    async def _paired(self, msg: p.Pair) -> None:
        if self.device_id is not None and msg.booth != self.device_id:
            log.warning("ignoring a pairing for %s", msg.booth)
            return
        peer = self.peer
        if (
            peer is not None
            and peer.hub == msg.hub
            and peer.alive
            and (
                peer.state is PeerState.CONNECTED
                or self._peer_connection_no == self.client.connects
            )
        ):
            if peer.pairing != msg.pairing:
                log.info(
                    "pairing renamed", extra={"fields": {"old": peer.pairing, "new": msg.pairing}}
                )
                peer.pairing = msg.pairing
            return  # the call is up, or being set up on this connection: keep it
        await self._call(msg.pairing, msg.hub)

    # -- the call -------------------------------------------------------------------------

    def _new_track(self) -> MediaStreamTrack:
        if self._replay is not None:
            return ReplayTrack(self._replay, clock=self.clock)
        if self._source is None:
            raise BoothError("booth agent is not started")
        return SourceTrack(self._source)

    async def _call(self, pairing: str, hub: str) -> None:
        await self._drop_peer()
        peer = BoothPeer(pairing, hub, self._new_track(), on_state=self._peer_state)
        self.peer = peer
        self._peer_connection_no = self.client.connects
        self.calls_started += 1
        sdp = await peer.offer()
        try:
            await self.client.send(p.Offer(peer=hub, pairing=pairing, sdp=sdp))
        except ClientError as exc:
            log.info("offer not sent: %s", exc)  # the server re-sends Pair after reconnecting
        self._watchdog = asyncio.get_running_loop().create_task(
            self._negotiation_watchdog(peer), name="booth-negotiation-watchdog"
        )

    async def _negotiation_watchdog(self, peer: BoothPeer) -> None:
        await asyncio.sleep(limits.NEGOTIATION_TIMEOUT_S)
        if self.peer is peer and peer.state is not PeerState.CONNECTED:
            log.warning(
                "call not connected within %s s; offering again",
                limits.NEGOTIATION_TIMEOUT_S,
                extra={"fields": {"pairing": peer.pairing}},
            )
            self._spawn(self._redo(peer), "booth-reoffer")

    async def _redo(self, peer: BoothPeer) -> None:
        async with self._lock:
            if self.peer is peer and self.client.connected:
                await self._call(peer.pairing, peer.hub)

    def _peer_state(self, peer: BoothPeer) -> None:
        if peer is not self.peer:
            return
        if peer.state is PeerState.FAILED:
            self._spawn(self._failed(peer), "booth-call-failed")

    async def _failed(self, peer: BoothPeer) -> None:
        async with self._lock:
            if peer is not self.peer:
                return
            log.warning("call failed", extra={"fields": {"pairing": peer.pairing}})
            await self._drop_peer()
            with contextlib.suppress(ClientError):
                await self.client.send(
                    p.Release(pairing=peer.pairing, reason=p.ReleaseReason.PEER_OFFLINE.value)
                )
        await self._request_service(limits.REREQUEST_DELAY_S)

    async def _drop_peer(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        peer, self.peer = self.peer, None
        if peer is not None:
            await peer.close()
            peer.track.stop()
