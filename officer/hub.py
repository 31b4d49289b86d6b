"""The officer hub's shell: up to six booth calls, focus, and the officer's console.

The hub connects to the branch server, announces its capacity, and answers the offer of
every booth the server pairs with it. Each booth's video is counted as it arrives (frame
rate, "lost") and forwarded, undecoded, to the officer's console; the officer's camera and
microphone come from the console and go, undecoded, to the booth in focus, the card and
silence to the others (:mod:`officer.consolemedia`, :mod:`officer.returnmedia`). Seats and
focus are the pure model of :mod:`officer.seats`; this module does its effects. Figures go
to the log (every ``REPORT_INTERVAL_S``), ``/metrics`` and ``/healthz``
(:mod:`officer.health`), beside the console (:mod:`officer.console`).

A slot is freed when the server releases the pairing, when the booth's video has stopped
for ``media_offline_s`` plus the grace (marked lost on its tile at once), when a call is not
up within ``NEGOTIATION_TIMEOUT_S``, or when the connection fails; the hub then tells the
server (``Release``) and announces its capacity again. A pairing beyond ``max_booths`` is
refused with ``Release(reason="hub_full")``. After a reconnect to the server the pairings
come again (``Pair``); a slot already there is kept, so a server restart does not
interrupt a call.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from bilik import __version__, tls
from bilik.tasks import TaskSet
from bilik.webrtc import ice
from bilik.webrtc.looplag import LoopLagMonitor
from officer import checklists, console, health, limits, seats
from officer.config import HubConfig
from officer.consolemedia import ConsoleMedia
from officer.desk import Desk
from officer.errors import OfficerError
from officer.forward import ForwardTrack
from officer.metrics import HubMetrics
from officer.peers import DropReason, HubPeer, SlotState
from officer.recordings import Recordings
from officer.returnmedia import ReturnStreams, ReturnTrack
from officer.synthetic import hub_streams
from signaling import protocol as p
from signaling.client import ClientError, ClientState, SignalingClient

log = logging.getLogger(__name__)

SOFTWARE = f"bilik-hub/{__version__}"


class Hub:
    def __init__(
        self,
        config: HubConfig,
        token: str,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        client_factory: Callable[..., SignalingClient] = SignalingClient,
        streams: ReturnStreams | None = None,
    ) -> None:
        self.config = config
        self.token = token
        self.clock = clock
        self.monotonic = monotonic
        self.metrics = HubMetrics()
        self.metrics.slots_free.set(config.max_booths)
        self.client = client_factory(
            config.server,
            token,
            on_message=self._on_message,
            on_state=self._on_client_state,
            software=SOFTWARE,
            device_id=config.id,
            role=p.Role.HUB,
            ssl_context=tls.client_context(config),
        )
        self.device_id: str | None = None
        self.peers: dict[str, HubPeer] = {}  # by pairing id
        self.lag = LoopLagMonitor(on_lag=self._on_lag, name="hub-loop-lag")
        # (epoch ms, lag s) of the latest probes: lag over a window for /healthz?since_ms.
        self.lag_samples: collections.deque[tuple[int, float]] = collections.deque(
            maxlen=limits.LOOP_LAG_SAMPLES)
        self._lock = asyncio.Lock()
        self._tasks = TaskSet()
        self._runner: web.AppRunner | None = None
        self.metrics_port: int | None = None
        self._last_report = 0.0
        self.streams = streams if streams is not None else hub_streams(config)
        self.console_media = ConsoleMedia(
            self.streams.browser_video, self.streams.browser_audio,
            on_change=self._media_changed, on_switched=self._switched, wall=clock,
            monotonic=monotonic)
        self.streams.browser_video.on_live = self._media_changed
        self.streams.browser_audio.on_live = self._media_changed
        self._officer_live = (False, False)  # camera, microphone: as last applied
        self.seats = seats.Seats(max_booths=config.max_booths)  # seats and focus: pure model
        self.focus_changes = 0
        self.switch_times_s: list[tuple[str, float]] = []  # (kind, seconds), newest last
        self.lost_grace_s = (
            config.lost_grace_s if config.lost_grace_s is not None else limits.LOST_GRACE_S
        )
        self.desk = Desk(self)
        self.recordings = Recordings(self, config.recording_dir, enabled=config.record)
        self.changed = asyncio.Event()  # console state changed: push now

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            ice.restrict(self.config.ice_addresses)
        except ice.IcePolicyError as exc:
            raise OfficerError(str(exc)) from None
        await self._start_http()
        self.streams.start()
        await self.desk.start()
        await self.recordings.start()
        self.lag.start()
        self.spawn(self._watch(), "hub-watch")
        await self.client.start()

    async def wait_connected(self, timeout: float = limits.CONNECT_TIMEOUT_S) -> str:
        """Wait for the branch server's welcome; returns this hub's device id (the client
        refuses a token naming another device: :class:`signaling.client.Refused`)."""
        welcome = await self.client.wait_connected(timeout)
        return welcome.device_id

    async def stop(self) -> None:
        await self._tasks.cancel_all()
        for pairing in list(self.peers):
            await self._free(pairing, DropReason.SHUTDOWN, tell_server=False)
        await self.console_media.close()
        await self.client.close()
        await self.lag.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.desk.stop()
        await self.recordings.stop()
        self.streams.stop()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.spawn(coro, name)

    @property
    def free_slots(self) -> int:
        return max(0, self.config.max_booths - len(self.peers))

    # -- signaling ------------------------------------------------------------------------

    def _on_client_state(self, state: ClientState) -> None:
        if state is ClientState.CONNECTED and self.client.welcome is not None:
            self.device_id = self.client.welcome.device_id
            if self.config.lost_grace_s is None:
                self.lost_grace_s = self.client.welcome.resume_window_s
                for peer in self.peers.values():
                    peer.lost_grace_s = self.lost_grace_s
            self.spawn(self._announce(), "hub-capacity")
            self.spawn(self.desk.restore(), "hub-restore-cases")

    async def _announce(self) -> None:
        # Capacity is the number of booths this hub takes in all; the server subtracts
        # the pairings it holds (signaling.pairing.HubState.free).
        self.metrics.booths.set(len(self.peers))
        self.metrics.slots_free.set(self.free_slots)
        try:
            await self.client.send(
                p.Capacity(slots=self.config.max_booths, officer=self.desk.officer or "",
                           skills=self.desk.skills)
            )
        except ClientError as exc:
            log.info("capacity not sent: %s", exc)  # sent again on reconnect

    async def _on_message(self, msg: p.Message) -> None:
        if self.desk.reply(msg):
            return  # the answer to a request of the officer's desk
        self.changed.set()
        async with self._lock:
            if isinstance(msg, p.Pair):
                peer = await self._paired(msg.pairing, msg.booth, msg.hub)
                if peer is not None and msg.ticket:
                    new_case = peer.ticket != msg.ticket
                    peer.ticket, peer.number, peer.service = msg.ticket, msg.number, msg.service
                    if new_case:
                        await self.recordings.finish(peer, new_case=True)
                        peer.seat(True)  # a new participant: the last one's absence is over
                        self.desk.ticket_paired(peer)
                        await self._ask_documents(peer)
            elif isinstance(msg, p.Offer):
                await self._offer(msg)
            elif isinstance(msg, p.Ice):
                peer = self.peers.get(msg.pairing)
                if peer is not None and peer.booth == msg.peer:
                    await peer.add_candidate(msg.candidate, msg.sdp_mid, msg.sdp_mline_index)
            elif isinstance(msg, p.Release):
                if msg.pairing in self.peers:
                    log.info(
                        "pairing released by the server",
                        extra={"fields": {"pairing": msg.pairing, "reason": msg.reason}},
                    )
                    await self._free(msg.pairing, DropReason.RELEASED, tell_server=False)
            elif isinstance(msg, p.Hand | p.Seat | p.DocUpdate):
                peer = self.peers.get(msg.pairing)
                if peer is not None and peer.booth == msg.peer:
                    self.desk.booth_message(peer, msg)
            elif isinstance(msg, p.Consent):
                self.recordings.consent(msg)
            elif isinstance(msg, p.Alert | p.Verdict):
                self.desk.server_message(msg)
            elif isinstance(msg, p.Error):
                log.info("server error", extra={"fields": {"code": msg.code, "detail": msg.detail}})

    async def _ask_documents(self, peer: HubPeer) -> None:
        # The participant scans the claim's documents at once, while the officer serves
        # others: scanning needs no officer. A booth that has them already (a case that
        # came from another hub) keeps what it has and scans nothing again.
        self.spawn(self.desk.load_documents(peer), "hub-case-documents")
        kinds = checklists.documents_for(peer.service or checklists.DEFAULT_CLAIM)
        if not kinds:
            return
        try:
            await self.client.send(p.DocRequest(peer=peer.booth, pairing=peer.pairing,
                                                kinds=kinds))
        except ClientError as exc:
            log.info("documents not asked of %s: %s", peer.booth, exc)

    async def _paired(self, pairing: str, booth: str, hub: str) -> HubPeer | None:
        if self.device_id is not None and hub != self.device_id:
            log.warning("ignoring a pairing for hub %s", hub)
            return None
        existing = self.peers.get(pairing)
        if existing is not None:
            return existing  # re-sent after a reconnect: the call goes on
        for old_id, old in list(self.peers.items()):
            if old.booth != booth:
                continue
            if old.state is SlotState.RECEIVING and old.check() is None:
                # Same booth, same hub, call healthy: only the pairing's name changed.
                del self.peers[old_id]
                old.pairing = pairing
                self.peers[pairing] = old
                self._apply(seats.Paired(booth, pairing))
                return old
            await self._free(old_id, DropReason.REPLACED, tell_server=False)
        if self.seats.full:
            log.warning(
                "hub full: refusing booth %s",
                booth,
                extra={"fields": {"pairing": pairing, "max_booths": self.config.max_booths}},
            )
            self.metrics.refused.inc()
            with contextlib.suppress(ClientError):
                await self.client.send(
                    p.Release(pairing=pairing, reason=p.ReleaseReason.HUB_FULL.value)
                )
            await self._announce()
            return None
        peer = HubPeer(
            pairing,
            booth,
            metrics=self.metrics,
            media_offline_s=self.config.media_offline_s,
            lost_grace_s=self.lost_grace_s,
            clock=self.clock,
            monotonic=self.monotonic,
            streams=self.streams,
            inspect_video=self.config.inspect_video,
            on_switched=self._switched,
        )
        self.peers[pairing] = peer
        self._apply(seats.Paired(booth, pairing))
        seat = self.seats.of(booth)
        assert seat is not None  # the model had room: checked above
        peer.slot = seat.number
        log.info(
            "booth paired",
            extra={"fields": {"booth": booth, "pairing": pairing, "slots_free": self.free_slots}},
        )
        await self._announce()
        return peer

    async def _offer(self, msg: p.Offer) -> None:
        peer = self.peers.get(msg.pairing)
        if peer is None:
            # The server only relays offers within a pairing, so this is a pairing whose
            # Pair we have not seen (it raced a reconnect): take it like a Pair.
            peer = await self._paired(msg.pairing, msg.peer, self.device_id or "")
            if peer is None:
                return
        try:
            sdp = await peer.answer(msg.sdp)
        except Exception as exc:  # aiortc raises ValueError and others on odd SDP
            log.warning("cannot answer the offer of %s: %s", msg.peer, exc)
            await self._free(msg.pairing, DropReason.CONNECTION_FAILED, tell_server=True)
            return
        try:
            await self.client.send(p.Answer(peer=msg.peer, pairing=msg.pairing, sdp=sdp))
        except ClientError as exc:
            log.info("answer not sent: %s", exc)  # the booth offers again

    async def _free(self, pairing: str, reason: DropReason, *, tell_server: bool) -> None:
        peer = self.peers.pop(pairing, None)
        if peer is None:
            return
        await self.recordings.finish(peer)
        await peer.close()
        self._apply(seats.Freed(peer.booth))
        self.changed.set()
        self.metrics.forget(peer.booth)
        self.metrics.slots_freed.labels(reason.value).inc()
        log.info(
            "slot freed",
            extra={
                "fields": {
                    "booth": peer.booth,
                    "pairing": pairing,
                    "reason": reason.value,
                    "slots_free": self.free_slots,
                }
            },
        )
        if tell_server:
            with contextlib.suppress(ClientError):
                await self.client.send(
                    p.Release(pairing=pairing, reason=p.ReleaseReason.PEER_OFFLINE.value)
                )
        if reason is not DropReason.SHUTDOWN:
            await self._announce()

    # -- focus ----------------------------------------------------------------------------

    def peer_of(self, booth: str) -> HubPeer | None:
        for peer in self.peers.values():
            if peer.booth == booth:
                return peer
        return None

    @property
    def focused(self) -> str | None:
        """The booth in focus."""
        return self.seats.focused

    async def focus(self, booth: str | None) -> None:
        """Give the officer's camera and microphone to ``booth`` (None: to nobody)."""
        old = self.focused
        if not self._apply(seats.Focus(booth)):
            return
        self.focus_changes += 1
        self.changed.set()
        log.info("focus", extra={"fields": {"booth": booth, "previous": old}})

    def _apply(self, event: seats.Event) -> bool:
        """Run the seats model on ``event`` and do what it says; False if nothing changed."""
        self.seats, effects = seats.transition(self.seats, event)
        now = self.monotonic()
        for effect in effects:
            if isinstance(effect, seats.Refused):
                if effect.reason == "not_here":
                    raise OfficerError(f"booth {effect.booth} is not on this hub")
            elif isinstance(effect, seats.SendOfficer):
                peer = self.peer_of(effect.booth)
                if peer is None:
                    continue
                if peer.focused and not effect.focused:
                    peer.last_attended = now
                if effect.focused:
                    peer.sla_alert = None  # attended: the queue's risk is being dealt with
                peer.set_focus(effect.focused)
            elif isinstance(effect, seats.TellAttention):
                self.spawn(self._tell(p.Attention(peer=effect.booth, pairing=effect.pairing,
                                                   focused=effect.focused)), "hub-attention")
            elif isinstance(effect, seats.TellFocus):
                self.spawn(self._tell(p.Focus(booth=effect.booth or "")), "hub-focus")
            elif isinstance(effect, seats.BindConsole):
                self._bind_console()
        return bool(effects)

    async def _tell(self, msg: p.Message) -> None:
        try:
            await self.client.send(msg)
        except ClientError as exc:
            log.info("%s not sent: %s", msg.TYPE, exc)

    def _switched(self, track: ReturnTrack | ForwardTrack, seconds: float) -> None:
        kind = track.kind if isinstance(track, ReturnTrack) else f"console-{track.kind}"
        self.switch_times_s.append((kind, seconds))
        del self.switch_times_s[: -limits.SWITCH_SAMPLES]
        self.metrics.focus_switch.labels(kind).observe(seconds)

    # -- the console's media --------------------------------------------------------------

    def _bind_console(self) -> None:
        """Each seat of the console shows its booth; the headset gets the focused one."""
        media = self.console_media
        bound = [(seat.number, peer) for seat in self.seats.seats
                 if (peer := self.peer_of(seat.booth)) is not None]
        focused = self.peer_of(self.focused) if self.focused else None
        media.bind(((number, peer.booth, peer.ask_keyframe) for number, peer in bound),
                   None if focused is None else (focused.booth, focused.ask_keyframe))
        for peer in self.peers.values():
            peer.seat_out = media.seat_track(peer.booth)
            peer.voice_out = media.voice_track(peer.booth)

    async def _sign_out_idle(self) -> None:
        """The officer left the console: nobody can act, or be seen, in their name."""
        try:
            await self.desk.sign_out("idle")
        except OfficerError as exc:  # the server unreachable: try again next round
            log.warning("idle officer not signed out: %s", exc)
            self.desk.touch()

    def _media_changed(self) -> None:
        """The console's media came or went, or its camera or microphone stopped or came
        back: the focused booth gets the officer, the card or the synthetic officer."""
        self.streams.console_connected = self.console_media.connected
        self._officer_live = (self.streams.browser_video.live, self.streams.browser_audio.live)
        self._bind_console()
        for peer in self.peers.values():
            peer.set_focus(peer.focused)
        self.changed.set()

    def officer_media(self) -> dict[str, Any]:
        return {"source": self.streams.officer_source.value, **self.console_media.status()}

    # -- watching -------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(limits.WATCH_INTERVAL_S)
            live = (self.streams.browser_video.live, self.streams.browser_audio.live)
            if live != self._officer_live:
                self._media_changed()
            idle = self.desk.idle_s()
            if self.config.console_idle_s and idle is not None and \
                    idle > self.config.console_idle_s:
                self.desk.last_input = None  # one sign-out, not one per round
                self.spawn(self._sign_out_idle(), "hub-idle-sign-out")
            async with self._lock:
                for pairing, peer in list(self.peers.items()):
                    was = peer.state
                    reason = peer.check()
                    if peer.state is not was:
                        self.changed.set()
                    if reason is not None:
                        log.warning("booth %s dropped: %s", peer.booth, reason.value)
                        await self._free(pairing, reason, tell_server=True)
            now = self.monotonic()
            report = now - self._last_report >= limits.REPORT_INTERVAL_S
            if report:
                self._last_report = now
            health.refresh_gauges(self, log_readings=report)
            for peer in list(self.peers.values()):
                with contextlib.suppress(Exception):  # a closing connection has no stats
                    await peer.refresh_stats()

    def _on_lag(self, lag_s: float) -> None:
        self.lag_samples.append((int(self.clock() * 1000), lag_s))
        self.metrics.loop_lag.observe(lag_s)
        if lag_s > self.lag.warn_s:
            self.metrics.loop_lag_over.inc()

    # -- health and metrics over HTTP -----------------------------------------------------

    def health(self, since_ms: int | None = None) -> dict[str, Any]:
        """Health and per-booth figures (``/healthz``); see :func:`officer.health.report`."""
        return health.report(self, since_ms)

    async def _start_http(self) -> None:
        app = web.Application()
        health.add_routes(app, self)
        console.add_routes(app, self)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.metrics_host, self.config.metrics_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OfficerError(
                f"cannot serve metrics on {self.config.metrics_host}:{self.config.metrics_port}: "
                f"{exc.strerror or exc}"
            ) from None
        self._runner = runner
        address = runner.addresses[0]
        self.metrics_port = int(address[1])
        log.info("hub metrics at http://%s:%d/metrics", self.config.metrics_host, self.metrics_port)
