"""The booth agent: the shell around the booth's state machine (:mod:`booth.state`).

Everything that happens (a message from the server, a code from the ticket reader, a
captured document, the printer's answer, the face detector, a timer) becomes an event;
:func:`booth.state.transition` gives the next state and the effects, which this shell
carries out (report the state, camera on or off, scan, print, tell the server the booth is
free). Every transition is logged, written to the state file (so a restarted agent shows
the participant where they were) and reported to the server with ``Status``.

What a message from the server means is read by the pure core too
(:class:`booth.state.Inbound`), and so is the flow policy: ``flow = "ticket"`` (production)
waits for a ticket QR and claims it through the queue; ``flow = "direct"`` (demo, call
benchmark) asks for any officer as soon as it is connected. The call with the hub is
:class:`booth.call.BoothCall`; the documents, :class:`booth.documents.BoothDocuments`. The
client reconnects with capped, jittered backoff; the server re-sends ``Pair`` for a pairing
it kept, and the state machine treats that as the same session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from bilik import __version__, tls
from bilik.tasks import TaskSet
from bilik.webrtc import ice
from booth import devices, limits, selftest, statefile
from booth import state as st
from booth.call import BoothCall, CallState
from booth.config import BoothConfig
from booth.consent import ConsentAsker
from booth.documents import BoothDocuments
from booth.errors import BoothError
from booth.face_camera import FaceCamera
from booth.hand_button import HandButtonLoop
from booth.media import make_camera
from booth.peer import BoothPeer
from booth.presence import FaceDetector, PresenceTracker
from booth.receipt import print_receipt
from booth.replay import ReplayLoop, ReplayTrack
from booth.screen import BoothScreen
from booth.sound import BoothSound
from booth.speaker import Speaker
from booth.ticket_camera import TicketCamera
from booth.upload import Uploader, http_base
from booth.view import View, compose
from hardware.camera import FrameSource, SourceTrack
from hardware.errors import HardwareError
from hardware.printing import AsyncPrinter
from hardware.scanner import SerialScanner
from signaling import protocol as p
from signaling.client import ClientError, ClientState, SignalingClient

log = logging.getLogger(__name__)

SOFTWARE = f"bilik-booth/{__version__}"
SPACE, ENTER = 32, 13  # keys that raise the hand on the booth's keypad or keyboard
REPEAT_KEYS = (ord("r"), ord("R"), ord("0"))  # read the instruction out again


class BoothAgent:
    def __init__(
        self,
        config: BoothConfig,
        token: str,
        *,
        clock: Callable[[], float] = time.time,
        client_factory: Callable[..., SignalingClient] = SignalingClient,
        document_camera: Callable[[], FrameSource] | None = None,
        printer: AsyncPrinter | None = None,
        screen: BoothScreen | None = None,
        camera: Callable[[], FrameSource] | None = None,
        presence: FaceDetector | None = None,
        presence_tracker: PresenceTracker | None = None,
        scan_frames: int | None = None,
        health_every_s: float = limits.HEALTH_REPORT_S,
    ) -> None:
        self.config = config
        self.flow = st.Flow(config.flow)
        self.token = token
        self.clock = clock
        self.client = client_factory(
            config.server,
            token,
            on_message=self._on_message,
            on_state=self._on_client_state,
            software=SOFTWARE,
            device_id=config.id,
            role=p.Role.BOOTH,
            ssl_context=tls.client_context(config),
        )
        self.inbound = st.Inbound()  # reads the server's messages (claims in flight...)
        self.booth = st.Booth()
        self.state_path = config.data_dir / statefile.STATE_FILE
        self.transitions: list[tuple[str, str, str]] = []  # (event, from, to), for tests
        self.health: dict[str, str] = {}
        self.sound = BoothSound(config, on_fault=self._speaker_fault)
        self.incoming, self.narrator = self.sound.incoming, self.sound.narrator
        self.screen = screen or devices.make_screen(config)
        self.printer = printer
        self.health_every_s = health_every_s
        self._tasks = TaskSet()
        self.face = FaceCamera(
            camera or (lambda: make_camera(config, clock=clock)),
            presence_tracker or PresenceTracker(), detector=presence,
            on_presence=lambda seen: self.dispatch(st.PresenceChanged(self._event_time(), seen)),
            on_error=lambda why: self._device_health("camera", selftest.error(why)),
            spawn=self._spawn)
        self.documents = BoothDocuments(
            Uploader(http_base(config.server), token, config.data_dir / "spool",
                     ssl_context=tls.client_context(config)),
            document_camera or devices.document_camera(config), booth=lambda: self.booth,
            dispatch=self.dispatch, now=self._event_time, device_health=self._device_health,
            spawn=self._spawn, scan_frames=scan_frames)
        self.call = BoothCall(
            config, self.client, self.incoming, new_track=self._new_track,
            video_cap=self._video_cap, device_health=self._device_health,
            on_failed=lambda: self.dispatch(st.CallFailed(self._event_time())),
            spawn=self._spawn)
        self.ticket_camera: TicketCamera | None = None
        self._replay: ReplayLoop | None = None
        self._scanner: SerialScanner | None = None
        self.presence_note = ""
        self.button_note = ""
        self.hand_button = HandButtonLoop(
            config.hand_button, on_press=self.press, raised=lambda: self.booth.hand_raised,
            on_health=self._button_health) if config.hand_button else None
        self.consent = ConsentAsker(enabled=config.consent, send=self._send, clock=clock,
                                    online=lambda: self.client.connected)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            ice.restrict(self.config.ice_addresses)
        except ice.IcePolicyError as exc:
            raise BoothError(str(exc)) from None
        if self.config.source == "replay":
            if self.config.replay_file is None:
                raise BoothError("source = replay needs replay_file")
            self._replay = ReplayLoop.load(self.config.replay_file, self.config.fps)
        saved = await asyncio.to_thread(statefile.load, self.state_path)
        if saved is not None:
            # Resume where the participant was; the server corrects what changed meanwhile.
            self.booth = st.Booth(**{**saved.__dict__, "online": False, "present": True})
            log.info("resuming booth state", extra={"fields": {"state": saved.state.value}})
        self.presence_note = await self.face.load_detector(self.config.camera)
        await self._self_test()
        if self.booth.state in st.SEATED_STATES:
            await self._camera_on()
        if self.booth.state is st.BoothState.SCANNING:
            self.documents.start_scan()
        self.documents.resend_spooled()  # captured before a restart: send it now
        if self.config.reader:
            self._spawn(self._read_codes(), "booth-reader")
        if self.hand_button is not None:
            self._spawn(self.hand_button.run(), "booth-hand-button")
        factory = self.documents.camera_factory
        if self.flow is st.Flow.TICKET and self.config.ticket_camera and factory is not None:
            self.ticket_camera = TicketCamera(
                factory, wanted=lambda: st.waits_for_code(self.booth), on_code=self.scan_code,
                on_error=lambda why: self._device_health("document_camera", selftest.error(why)),
                lock=self.documents.camera_lock, monotonic=time.monotonic)
            self._spawn(self.ticket_camera.run(), "booth-ticket-camera")
        self._spawn(self._screen_loop(), "booth-screen")
        self._spawn(self._health_loop(), "booth-health")
        await self.client.start()

    async def wait_connected(self, timeout: float = limits.CONNECT_TIMEOUT_S) -> str:
        """Wait for the branch server's welcome; returns this booth's device id (the client
        refuses a token naming another device: :class:`signaling.client.Refused`)."""
        welcome = await self.client.wait_connected(timeout)
        return welcome.device_id

    async def stop(self) -> None:
        await self.documents.stop_scan()
        await self._tasks.cancel_all()
        await self.call.drop()
        await self.sound.close()
        await self.client.close()
        await self.face.off()
        await self.documents.close()
        await self.sound.close_speaker()
        if self._scanner is not None:
            with contextlib.suppress(HardwareError):
                await self._scanner.close()
        if self.printer is not None and self._owns_printer:
            with contextlib.suppress(HardwareError):
                await self.printer.close()
        self.screen.close()

    _owns_printer = False

    @property
    def peer(self) -> BoothPeer | None:
        return self.call.peer

    @property
    def speaker(self) -> Speaker:
        return self.sound.speaker

    @property
    def state(self) -> CallState:
        return self.call.state()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self._tasks.spawn(coro, name)

    # -- the state machine ------------------------------------------------------------------

    def dispatch(self, event: st.Event) -> None:
        """Apply one event: transition, log, persist, carry out the effects."""
        before = self.booth
        after, effects = st.transition(before, event, self.flow)
        self.booth = after
        if after.state is not before.state:
            self.transitions.append((type(event).__name__, before.state.value, after.state.value))
            log.info("booth %s -> %s", before.state.value, after.state.value,
                     extra={"fields": {"event": type(event).__name__, "ticket": after.ticket}})
        if after != before:
            try:
                statefile.save(self.state_path, after)
            except BoothError as exc:
                log.error("%s", exc)
        for effect in effects:
            self._apply(effect)

    def _event_time(self) -> float:
        return self.clock()

    def _apply(self, effect: st.Effect) -> None:
        E = st.Effect
        if effect is E.REPORT:
            self._spawn(self._report(), "booth-report")
        elif effect is E.CAMERA_ON:
            self._spawn(self._camera_on(), "booth-camera-on")
        elif effect is E.CAMERA_OFF:
            self._spawn(self.face.off(), "booth-camera-off")
        elif effect is E.START_SCAN:
            self.documents.start_scan()
        elif effect is E.STOP_SCAN:
            self._spawn(self.documents.stop_scan(), "booth-stop-scan")
        elif effect is E.SEND_HAND:
            booth = self.booth
            if booth.hub and booth.pairing:
                self._send(p.Hand(peer=booth.hub, pairing=booth.pairing,
                                  raised=booth.hand_raised, reason="ready"))
        elif effect is E.SEND_SEAT:
            booth = self.booth
            if booth.hub and booth.pairing:
                self._send(p.Seat(peer=booth.hub, pairing=booth.pairing, occupied=booth.present))
        elif effect is E.PRINT_RECEIPT:
            self._spawn(self._print(), "booth-print")
        elif effect is E.START_GOODBYE:
            self._spawn(self._goodbye(), "booth-goodbye")
        elif effect is E.BOOTH_READY:
            self._send(p.BoothReady())
        elif effect is E.ASK_SERVICE:
            self._spawn(self._request_service(0.0), "booth-service-request")
        elif effect is E.ASK_SERVICE_AGAIN:
            self._spawn(self._request_service(limits.REREQUEST_DELAY_S), "booth-rerequest")
        elif effect is E.CLEAR_LOCAL_DOCS:
            count = self.documents.uploader.clear()
            if count:
                log.info("deleted %d spooled file(s) of the participant", count)
        elif effect is E.REPORT_AWAY:
            log.warning("participant unreachable: the seat is empty",
                        extra={"fields": {"ticket": self.booth.ticket}})
            self._spawn(self._report(detail="participant_away"), "booth-report-away")
        elif effect is E.DROP_CALL:
            # Only the call of the lost pairing: a Pair that follows the Release at once
            # (hub failover) may have started the next call before this task runs.
            self._spawn(self.call.drop_if_current(self.call.peer), "booth-drop-call")

    def _send(self, msg: p.Message) -> None:
        async def send() -> None:
            try:
                await self.client.send(msg)
            except ClientError as exc:
                log.info("%s not sent: %s", msg.TYPE, exc)

        self._spawn(send(), f"booth-send-{msg.TYPE}")

    async def _report(self, detail: str = "") -> None:
        notes = [d for d in (detail, self.presence_note, self.sound.note, self.button_note)
                 if d]
        status = p.Status(state=self.booth.state.value, health=dict(self.health),
                          detail="; ".join(notes)[:500])
        with contextlib.suppress(ClientError):
            await self.client.send(status)

    # -- devices ----------------------------------------------------------------------------

    async def _self_test(self) -> None:
        """Check each configured device; a failed one takes the booth out of service."""
        found = await selftest.run(
            self.config, camera=None if self._replay is not None else self.face.factory,
            document_camera=self.documents.camera_factory, printer=self.printer)
        self.health.update(found.health)
        self.printer, self._scanner = found.printer, found.scanner
        self._owns_printer = found.owns_printer
        speaker = await self.sound.open()
        if speaker is not None:
            self.health["speaker"] = speaker
        now = self._event_time()
        for device, health in self.health.items():
            if health != selftest.OK:
                log.error("self-test: %s: %s", device, health)
                self.dispatch(st.DeviceFailed(now, device))
        log.info("self-test", extra={"fields": dict(self.health)})

    def _speaker_fault(self, health: str) -> None:
        self.health["speaker"] = health
        self.dispatch(st.DeviceFailed(self._event_time(), "speaker"))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_every_s)
            if self.printer is not None and self.booth.state is not st.BoothState.VERDICT:
                self._device_health("printer", await selftest.check_printer(self.printer))
            self.sound.check(known_faulty="speaker" in self.booth.faults)
            await self._report()

    def _device_health(self, device: str, health: str) -> None:
        self.health[device] = health
        now = self._event_time()
        self.dispatch(st.DeviceRecovered(now, device) if health == selftest.OK
                      else st.DeviceFailed(now, device))

    async def _camera_on(self) -> None:
        if self._replay is None:
            await self.face.on()

    # -- the ticket reader --------------------------------------------------------------------

    async def _read_codes(self) -> None:
        scanner = self._scanner
        if scanner is None:
            return
        try:
            async for code in scanner:
                self.scan_code(code)
        except HardwareError as exc:
            self._device_health("reader", selftest.error(str(exc)))

    def scan_code(self, code: str) -> None:
        """A ticket QR (or booking code) was read: claim it if the booth is free."""
        now = self.clock()
        if not self.inbound.fresh(code, now):
            return  # the reader saw the same code twice
        if not st.accepts_code(self.booth, self.flow):
            log.info("code ignored in state %s", self.booth.state.value)
            return
        if not st.readable(code):
            self.dispatch(st.ClaimRefused(now, "booth.qr_unreadable"))
            return
        self._send(self.inbound.claim(code))

    def _button_health(self, note: str) -> None:
        if note != self.button_note:
            self.button_note = note
            self._spawn(self._report(), "booth-report-button")

    def press(self, key: int = SPACE) -> None:
        """The participant pressed the hand button (or a key on the screen's window)."""
        if self.consent.press(key):
            return  # it answered the consent question
        if key in (SPACE, ENTER):
            self.dispatch(st.HandToggled(self._event_time()))
        elif key in REPEAT_KEYS:
            self.narrator.repeat()

    # -- signaling ------------------------------------------------------------------------

    def _on_client_state(self, state: ClientState) -> None:
        if state is ClientState.CONNECTED:
            welcome = self.client.welcome
            if welcome is not None:
                self.inbound.device_id = welcome.device_id
            self.dispatch(st.Connected(self._event_time()))
        elif self.booth.online:
            self.dispatch(st.Disconnected(self._event_time()))

    async def _request_service(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.client.send(p.ServiceRequest())
            log.info("asked for an officer")
        except ClientError as exc:
            log.info("cannot ask for service now: %s", exc)  # asked again on reconnect

    async def _on_message(self, msg: p.Message) -> None:
        now = self._event_time()
        if self.inbound.is_flow_message(msg):
            if isinstance(msg, p.Error):
                log.info("claim refused: %s %s", msg.code, msg.detail)
            event = self.inbound.event(msg, self.booth, now)
            if event is not None:
                self.dispatch(event)
            return
        async with self.call.lock:
            if isinstance(msg, p.Pair):
                paired = self.inbound.event(msg, self.booth, now)
                if paired is None:
                    log.warning("ignoring a pairing for %s", msg.booth)
                    return
                self.dispatch(paired)
                if st.joins_call(self.booth, self.flow):
                    self.consent.in_session(self.booth.ticket or msg.ticket
                                            or f"pairing:{msg.pairing}", msg.pairing, msg.hub)
                    await self.call.paired(msg.pairing, msg.hub)
            elif isinstance(msg, p.Error):
                log.warning(
                    "server error", extra={"fields": {"code": msg.code, "detail": msg.detail}}
                )
            else:
                await self.call.message(msg)
                released = self.inbound.event(msg, self.booth, now)  # a Release
                if released is not None:
                    self.dispatch(released)

    # -- the call ---------------------------------------------------------------------------

    async def _new_track(self) -> MediaStreamTrack:
        if self._replay is not None:
            # Out of focus (capped), the small loop, like the live camera's smaller picture.
            return ReplayTrack(self._replay, clock=self.clock,
                               small=lambda: self._video_cap() is not None)
        await self._camera_on()
        if self.face.tee is None:
            raise BoothError("the booth camera is not running")
        return SourceTrack(self.face.tee)

    def _video_cap(self) -> int | None:
        """Full quality for the officer's focus, a smaller picture at a lower bitrate for a
        booth that only shows a tile. Read by the encoder on every frame, so a change of
        focus shows on the next one (a replayed booth: at the next keyframe of its loop)."""
        return None if self.booth.focused else limits.UNFOCUSED_VIDEO_BITRATE

    # -- the end of the visit -----------------------------------------------------------------

    async def _print(self) -> None:
        verdict = self.booth.verdict
        if verdict is None:
            return
        printed, why = await print_receipt(self.printer, verdict, now=datetime.now)
        if not printed and (self.printer is not None or self.config.printer):
            # Reported, so that staff fix it before the next participant: the booth closes
            # once this one has left, and the reference is on the screen meanwhile.
            self.health["printer"] = selftest.error(why)
            self.dispatch(st.DeviceFailed(self._event_time(), "printer"))
        self.dispatch(st.ReceiptDone(self._event_time(), printed, why))
        if self.printer is not None or self.config.printer:
            # The server keeps it with the decision: the officer's case and the manager's
            # page say "receipt not printed" (a booth without a printer prints none).
            self._send(p.Receipt(reference=verdict.reference, printed=printed,
                                 reason="" if printed else why))

    async def _goodbye(self) -> None:
        await asyncio.sleep(self.config.goodbye_s)
        self.incoming.forget()
        self.dispatch(st.GoodbyeOver(self._event_time()))

    # -- the screen ---------------------------------------------------------------------------

    def view(self) -> View:
        view = compose(self.booth, self.documents.guidance(), now=self._event_time())
        return self.consent.overlay(view)

    async def _screen_loop(self) -> None:
        period = 1.0 / limits.SCREEN_FPS
        while True:
            view = self.view()
            self_view = self.face.self_view()
            officer = self.incoming.picture() if view.show_officer else None
            self.narrator.show(view.lines[0] if view.lines else None)
            await asyncio.to_thread(self.screen.show, view, officer, self_view)
            for key in self.screen.take_keys():
                self.press(key)
            await asyncio.sleep(period)

