"""The booth's call with its officer's hub (one at a time), set up, repaired and released.

On ``Pair`` the booth offers camera and microphone to the hub (send-receive, so the officer's
picture and voice come back). What breaks is repaired without a person: an offer not
connected within ``NEGOTIATION_TIMEOUT_S`` is made again; a failed call is released (and
``on_failed`` tells the agent, whose state machine decides whether to ask for an officer
again). A ``Pair`` re-sent for the same hub after a reconnect keeps the call that is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from booth import limits, selftest
from booth.config import BoothConfig
from booth.errors import BoothError
from booth.media import IncomingMedia, make_microphone
from booth.peer import BoothPeer, PeerState
from signaling import protocol as p
from signaling.client import ClientError, SignalingClient

log = logging.getLogger(__name__)


class CallState(enum.StrEnum):
    OFFLINE = "offline"  # no connection to the branch server
    WAITING = "waiting"  # asked for service, no hub yet
    CALLING = "calling"  # paired, call being set up
    IN_CALL = "in_call"  # video flowing to the hub


class BoothCall:
    def __init__(
        self,
        config: BoothConfig,
        client: SignalingClient,
        incoming: IncomingMedia,
        *,
        new_track: Callable[[], Awaitable[MediaStreamTrack]],
        video_cap: Callable[[], int | None],
        device_health: Callable[[str, str], None],
        on_failed: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
    ) -> None:
        self.config = config
        self.client = client
        self.incoming = incoming
        self._new_track = new_track
        self._video_cap = video_cap
        self._device_health = device_health
        self._on_failed = on_failed
        self._spawn = spawn
        self.peer: BoothPeer | None = None
        self.calls_started = 0
        self.lock = asyncio.Lock()  # one change to the call at a time
        self._watchdog: asyncio.Task[None] | None = None
        self._connection_no = 0  # the client's connection the current offer was sent on

    def state(self) -> CallState:
        peer = self.peer
        up = peer is not None and peer.state is PeerState.CONNECTED
        if not self.client.connected and not up:
            return CallState.OFFLINE
        if peer is None:
            return CallState.WAITING
        return CallState.IN_CALL if up else CallState.CALLING

    async def paired(self, pairing: str, hub: str) -> None:
        """A ``Pair`` for this booth: keep the call that is up (or being set up on this
        connection) with that hub, else call it."""
        peer = self.peer
        if (
            peer is not None
            and peer.hub == hub
            and peer.alive
            and (peer.state is PeerState.CONNECTED or self._connection_no == self.client.connects)
        ):
            if peer.pairing != pairing:
                log.info("pairing renamed", extra={"fields": {"old": peer.pairing, "new": pairing}})
                peer.pairing = pairing
            return
        await self._call(pairing, hub)

    async def message(self, msg: p.Message) -> None:
        """The call's own messages: the hub's answer and ICE candidates, a release."""
        peer = self.peer
        if isinstance(msg, p.Answer):
            if peer is not None and msg.pairing == peer.pairing:
                await peer.accept_answer(msg.sdp)
        elif isinstance(msg, p.Ice):
            if peer is not None and msg.pairing == peer.pairing:
                await peer.add_candidate(msg.candidate, msg.sdp_mid, msg.sdp_mline_index)
        elif isinstance(msg, p.Release) and peer is not None and msg.pairing == peer.pairing:
            log.info("call released", extra={"fields": {"reason": msg.reason}})
            await self.drop()

    async def _call(self, pairing: str, hub: str) -> None:
        await self.drop()
        try:
            audio = make_microphone(self.config)
        except BoothError as exc:
            self._device_health("microphone", selftest.error(str(exc)))
            audio = None
        peer = BoothPeer(pairing, hub, await self._new_track(), on_state=self._peer_state,
                         audio=audio, on_track=self.incoming.attach,
                         video_cap=self._video_cap)
        self.peer = peer
        self._connection_no = self.client.connects
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
        async with self.lock:
            if self.peer is peer and self.client.connected:
                await self._call(peer.pairing, peer.hub)

    def _peer_state(self, peer: BoothPeer) -> None:
        if peer is self.peer and peer.state is PeerState.FAILED:
            self._spawn(self._failed(peer), "booth-call-failed")

    async def _failed(self, peer: BoothPeer) -> None:
        async with self.lock:
            if peer is not self.peer:
                return
            log.warning("call failed", extra={"fields": {"pairing": peer.pairing}})
            await self.drop()
            with contextlib.suppress(ClientError):
                await self.client.send(
                    p.Release(pairing=peer.pairing, reason=p.ReleaseReason.PEER_OFFLINE.value)
                )
        self._on_failed()

    async def drop_if_current(self, peer: BoothPeer | None) -> None:
        """Drop ``peer``'s call if it is still the current one (a ``Pair`` that follows a
        ``Release`` at once, hub failover, may have started the next call meanwhile)."""
        async with self.lock:
            if peer is not None and peer is self.peer:
                await self.drop()

    async def drop(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        peer, self.peer = self.peer, None
        if peer is not None:
            await peer.close()
            peer.track.stop()
            if peer.audio is not None:
                peer.audio.stop()
            await self.incoming.close()
