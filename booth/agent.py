"""The booth agent: the shell around the booth's state machine (:mod:`booth.state`).

Everything that happens (a message from the server, a code from the ticket reader, a
captured document, the printer's answer, the face detector, a timer) becomes an event;
:func:`booth.state.transition` gives the next state and the effects, which this shell
carries out (report the state, camera on or off, scan, print, tell the server the booth is
free). Every transition is logged, written to the state file (so a restarted agent shows
the participant where they were) and reported to the server with ``Status``.

Two flows: ``flow = "ticket"`` (production) waits for a ticket QR and claims it through the
queue; ``flow = "direct"`` (demo, call benchmark) asks for any officer as soon as it is
connected. The call itself: on ``Pair`` the booth offers camera and microphone to the hub
(send-receive, so the officer's picture and voice come back); what breaks is repaired
without a person: an offer not connected within ``NEGOTIATION_TIMEOUT_S`` is made again, a
failed call is released and, in direct mode, service is requested anew. The server and the
client reconnect with capped, jittered backoff; the server re-sends ``Pair`` for a pairing
it kept, and the state machine treats that as the same session.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from bilik import __version__, tls
from bilik.catalogue import Message
from bilik.codes import CodeKind, kind_of
from bilik.tasks import TaskSet
from bilik.webrtc import ice
from booth import limits, selftest, statefile
from booth import state as st
from booth.config import BoothConfig
from booth.errors import BoothError
from booth.hand_button import HandButtonLoop
from booth.media import CameraTee, IncomingMedia, make_camera, make_microphone
from booth.narration import Narrator
from booth.peer import BoothPeer, PeerState
from booth.presence import FaceDetector, PresenceTracker, PresenceUnavailable
from booth.receipt import print_receipt
from booth.replay import ReplayLoop, ReplayTrack
from booth.scan import CameraCannotReach, DocumentScan
from booth.screen import BoothScreen, ScreenMode
from booth.speaker import Speaker, SpeakerError, SpeakerKind, make_speaker
from booth.ticket_camera import TicketCamera
from booth.upload import Uploader, UploadRefused, http_base, send_reading
from booth.view import View, compose
from hardware.camera import (
    FrameSource,
    ImageReplaySource,
    OpenCVCamera,
    SourceTrack,
    start_source,
)
from hardware.emulators.camera import expand_images
from hardware.errors import HardwareError
from hardware.ocr import Reader, Reading
from hardware.printing import AsyncPrinter
from hardware.scanner import SerialScanner
from signaling import protocol as p
from signaling.client import ClientState, SignalingClient
from signaling.errors import ClientError

log = logging.getLogger(__name__)

SOFTWARE = f"bilik-booth/{__version__}"
SPACE, ENTER = 32, 13  # keys that raise the hand on the booth's keypad or keyboard
REPEAT_KEYS = (ord("r"), ord("R"), ord("0"))  # read the instruction out again

# Claim and check-in errors without a catalogue key of their own.
CLAIM_TEXT = {"unknown_ticket": "queue.ticket_unknown",
              "unknown_appointment": "queue.booking_unknown"}


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
        self.token = token
        self.clock = clock
        self.client = client_factory(
            config.server,
            token,
            on_message=self._on_message,
            on_state=self._on_client_state,
            software=SOFTWARE,
            ssl_context=tls.client_context(config),
        )
        self.device_id: str | None = None
        self.booth = st.Booth()
        self.state_path = config.data_dir / statefile.STATE_FILE
        self.transitions: list[tuple[str, str, str]] = []  # (event, from, to), for tests
        self.health: dict[str, str] = {}
        self.peer: BoothPeer | None = None
        try:
            self.speaker = make_speaker(config.speaker)
        except ValueError as exc:
            raise BoothError(str(exc)) from None
        self.incoming = IncomingMedia(self.speaker)
        self.narrator = Narrator(self.speaker.narration, config.data_dir / "speech",
                                 enabled=config.read_aloud, voice=config.speech_voice)
        self.screen = screen or _screen(config)
        self.printer = printer
        self.uploader = Uploader(http_base(config.server), token, config.data_dir / "spool",
                                 ssl_context=tls.client_context(config))
        self._camera_factory = camera or (lambda: make_camera(config, clock=clock))
        self._doc_camera_factory = document_camera or _document_camera(config)
        self._scan_frames = scan_frames
        self.health_every_s = health_every_s
        self.scan: DocumentScan | None = None
        self._scan_notice: tuple[str, Message] | None = None  # kind the camera cannot read
        self._ocr = Reader()  # loads Tesseract on the first document that carries a NIK
        self._tee: CameraTee | None = None
        self._doc_camera: FrameSource | None = None
        self._doc_camera_lock = asyncio.Lock()  # one user at a time: ticket QR or scan
        self.ticket_camera: TicketCamera | None = None
        self._replay: ReplayLoop | None = None
        self._scanner: SerialScanner | None = None
        self._detector = presence
        self._presence = presence_tracker or PresenceTracker()
        self._peer_connection_no = 0
        self._tasks = TaskSet()
        self._scan_task: asyncio.Task[None] | None = None
        self._camera_task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._claims: dict[str, str] = {}  # Claim or CheckIn message id -> the code sent
        self._called: dict[str, str] = {}  # ticket id -> number, from Called
        self._last_code: tuple[str, float] = ("", 0.0)
        self.calls_started = 0
        self.presence_note = ""
        self.speaker_note = ""
        self.button_note = ""
        self.hand_button = HandButtonLoop(
            config.hand_button, on_press=self.press, raised=lambda: self.booth.hand_raised,
            on_health=self._button_health) if config.hand_button else None

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
        if self._detector is None and self.config.camera == "testpattern":
            # Nobody sits in front of a test pattern: looking for a face there would only
            # report every simulated participant as away.
            log.info("presence detection off: the booth camera is the test pattern")
        elif self._detector is None:
            try:
                self._detector = await asyncio.to_thread(FaceDetector)
            except PresenceUnavailable as exc:
                self.presence_note = f"presence detection unavailable: {exc}"
                log.warning("%s", self.presence_note)
        await self._self_test()
        if self.booth.state in st.SEATED_STATES:
            await self._camera_on()
        if self.booth.state is st.BoothState.SCANNING:
            self._start_scan()
        for item in self.uploader.pending():  # captured before a restart: send it now
            self._spawn(self._send_document(item.kind, None, item), f"booth-upload-{item.kind}")
        if self.config.reader:
            self._spawn(self._read_codes(), "booth-reader")
        if self.hand_button is not None:
            self._spawn(self.hand_button.run(), "booth-hand-button")
        factory = self._doc_camera_factory
        if self.config.flow == "ticket" and self.config.ticket_camera and factory is not None:
            self.ticket_camera = TicketCamera(
                factory, wanted=self._welcome_up, on_code=self.scan_code,
                on_error=lambda why: self._device_health("document_camera", selftest.error(why)),
                lock=self._doc_camera_lock, monotonic=time.monotonic)
            self._spawn(self.ticket_camera.run(), "booth-ticket-camera")
        self._spawn(self._screen_loop(), "booth-screen")
        self._spawn(self._health_loop(), "booth-health")
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
        await self._stop_scan()
        await self._tasks.cancel_all()
        await self._drop_peer()
        await self.incoming.close()
        await self.narrator.close()
        await self.client.close()
        await self._camera_off()
        await self.uploader.close()
        await asyncio.to_thread(self._ocr.close)
        await asyncio.to_thread(self.speaker.close)
        if self._scanner is not None:
            with contextlib.suppress(HardwareError):
                await self._scanner.close()
        if self.printer is not None and self._owns_printer:
            with contextlib.suppress(HardwareError):
                await self.printer.close()
        self.screen.close()

    _owns_printer = False

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

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = self._tasks.spawn(coro, name)
        return task

    # -- the state machine ------------------------------------------------------------------

    def dispatch(self, event: st.Event) -> None:
        """Apply one event: transition, log, persist, carry out the effects."""
        before = self.booth
        after, effects = st.transition(before, event)
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
            self._spawn(self._camera_off(), "booth-camera-off")
        elif effect is E.START_SCAN:
            self._start_scan()
        elif effect is E.STOP_SCAN:
            self._spawn(self._stop_scan(), "booth-stop-scan")
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
            if self.config.flow == "ticket":
                self._send(p.BoothReady())
            elif self.client.connected:
                self._spawn(self._request_service(limits.REREQUEST_DELAY_S), "booth-rerequest")
        elif effect is E.CLEAR_LOCAL_DOCS:
            count = self.uploader.clear()
            if count:
                log.info("deleted %d spooled file(s) of the participant", count)
        elif effect is E.REPORT_AWAY:
            log.warning("participant unreachable: the seat is empty",
                        extra={"fields": {"ticket": self.booth.ticket}})
            self._spawn(self._report(detail="participant_away"), "booth-report-away")
        elif effect is E.REQUEST_SERVICE:
            # Only the call of the lost pairing: a Pair that follows the Release at once
            # (hub failover) may have started the next call before this task runs.
            self._spawn(self._drop_peer_locked(self.peer), "booth-drop-call")
            if self.config.flow == "direct":
                self._spawn(self._request_service(limits.REREQUEST_DELAY_S), "booth-rerequest")

    def _send(self, msg: p.Message) -> None:
        async def send() -> None:
            try:
                await self.client.send(msg)
            except ClientError as exc:
                log.info("%s not sent: %s", msg.TYPE, exc)

        self._spawn(send(), f"booth-send-{msg.TYPE}")

    async def _report(self, detail: str = "") -> None:
        notes = [d for d in (detail, self.presence_note, self.speaker_note, self.button_note)
                 if d]
        status = p.Status(state=self.booth.state.value, health=dict(self.health),
                          detail="; ".join(notes)[:500])
        with contextlib.suppress(ClientError):
            await self.client.send(status)

    # -- devices ----------------------------------------------------------------------------

    async def _self_test(self) -> None:
        """Check each configured device; a failed one takes the booth out of service."""
        if self._replay is None:
            self.health["camera"] = await selftest.check_camera(
                _safe_factory(self._camera_factory), started_here=True)
        if self.config.printer and self.printer is None:
            try:
                self.printer = await AsyncPrinter.open(
                    self.config.printer, status_timeout=limits.PRINTER_STATUS_TIMEOUT_S)
                self._owns_printer = True
            except (HardwareError, ValueError) as exc:
                self.health["printer"] = selftest.error(str(exc))
        if self.printer is not None:
            self.health["printer"] = await selftest.check_printer(self.printer)
        if self.config.reader:
            try:
                self._scanner = await SerialScanner(self.config.reader).open()
                self.health["reader"] = selftest.OK
            except HardwareError as exc:
                self.health["reader"] = selftest.error(str(exc))
        if self.config.document_camera != "none" or self._doc_camera_factory is not None:
            self.health["document_camera"] = await selftest.check_camera(
                _safe_factory(self._doc_camera_factory), started_here=True)
        await self._open_speaker()
        now = self._event_time()
        for device, health in self.health.items():
            if health != selftest.OK:
                log.error("self-test: %s: %s", device, health)
                self.dispatch(st.DeviceFailed(now, device))
        log.info("self-test", extra={"fields": dict(self.health)})

    async def _open_speaker(self) -> None:
        """Open the loudspeaker. Only a required one counts in the booth's health: a booth
        without sound can still serve (the officer can type), so by default a failed
        speaker is reported in ``Status.detail`` and the officer's audio is dropped."""
        if self.speaker.kind is SpeakerKind.NULL:
            return
        try:
            await asyncio.to_thread(self.speaker.open)
        except SpeakerError as exc:
            self._speaker_failed(str(exc))
            return
        if self.config.speaker_required:
            self.health["speaker"] = selftest.OK

    def _speaker_failed(self, why: str) -> None:
        log.error("%s", why)
        if self.config.speaker_required:
            self.health["speaker"] = selftest.error(why)
            self.dispatch(st.DeviceFailed(self._event_time(), "speaker"))
        else:
            self.speaker_note = f"speaker unavailable: {why}"[:200]
            failed, self.speaker = self.speaker, Speaker()
            self.incoming.speaker = self.speaker
            self.narrator.narration = self.speaker.narration
            failed.close()

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_every_s)
            if self.printer is not None and self.booth.state is not st.BoothState.VERDICT:
                self._device_health("printer", await selftest.check_printer(self.printer))
            problem = self.speaker.check()
            if problem is not None and "speaker" not in self.booth.faults:
                self._speaker_failed(f"speaker {self.speaker.name}: {problem}")
            await self._report()

    def _device_health(self, device: str, health: str) -> None:
        self.health[device] = health
        now = self._event_time()
        self.dispatch(st.DeviceRecovered(now, device) if health == selftest.OK
                      else st.DeviceFailed(now, device))

    async def _camera_on(self) -> None:
        if self._tee is not None or self._replay is not None:
            return
        try:
            tee = CameraTee(self._camera_factory())
            tee.start()
        except (HardwareError, ValueError, RuntimeError) as exc:
            self._device_health("camera", selftest.error(str(exc)))
            return
        self._tee = tee
        self._presence.reset()
        if self._detector is not None:
            self._camera_task = self._spawn(self._presence_loop(tee), "booth-presence")

    async def _camera_off(self) -> None:
        task, self._camera_task = self._camera_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tee, self._tee = self._tee, None
        if tee is not None:
            await tee.aclose()

    async def _presence_loop(self, tee: CameraTee) -> None:
        detector = self._detector
        if detector is None:
            return
        while True:
            await asyncio.sleep(limits.PRESENCE_CHECK_S)
            frame = tee.latest
            if frame is None:
                continue
            # The cascades block for tens of milliseconds: off the event loop.
            seen = await asyncio.to_thread(detector.sees_face, frame.image)
            changed = self._presence.feed(seen)
            if changed is not None:
                self.dispatch(st.PresenceChanged(self._event_time(), changed))

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

    def _welcome_up(self) -> bool:
        """The booth waits for a participant's ticket (and can send the claim)."""
        return self.booth.state is st.BoothState.IDLE and self.booth.online

    def scan_code(self, code: str) -> None:
        """A ticket QR (or booking code) was read: claim it if the booth is free."""
        now = self.clock()
        last, at = self._last_code
        if code == last and now - at < limits.CLAIM_REPEAT_S:
            return  # the reader saw the same code twice
        self._last_code = (code, now)
        if self.booth.state is not st.BoothState.IDLE or self.config.flow != "ticket":
            log.info("code ignored in state %s", self.booth.state.value)
            return
        if not code.isprintable() or not 0 < len(code) <= 256:
            self.dispatch(st.ClaimRefused(now, "booth.qr_unreadable"))
            return
        # A booking code checks in (and claims this booth when its turn is here): the
        # server's CheckIn, with the kiosk's refusals; anything else is a ticket's claim.
        claim: p.Claim | p.CheckIn = (
            p.CheckIn(code=code.strip()) if kind_of(code) is CodeKind.BOOKING
            else p.Claim(qr=code))
        self._claims[claim.id] = code
        self._send(claim)

    def _button_health(self, note: str) -> None:
        if note != self.button_note:
            self.button_note = note
            self._spawn(self._report(), "booth-report-button")

    def press(self, key: int = SPACE) -> None:
        """The participant pressed the hand button (or a key on the screen's window)."""
        if key in (SPACE, ENTER):
            self.dispatch(st.HandToggled(self._event_time()))
        elif key in REPEAT_KEYS:
            self.narrator.repeat()

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
            self.dispatch(st.Connected(self._event_time()))
            if self.config.flow == "direct":
                self.dispatch(st.ServiceAsked(self._event_time()))
                self._spawn(self._request_service(0.0), "booth-service-request")
            elif self.booth.state is st.BoothState.IDLE and not self.booth.faults:
                self._send(p.BoothReady())
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
        if isinstance(msg, p.Ok) and msg.ref in self._claims:
            self._claims.pop(msg.ref)
            self.dispatch(st.Claimed(now))
        elif isinstance(msg, p.TicketInfo) and msg.ref in self._claims:
            # Checked in. Claimed here, the Called, Waiting or Pair that follows moves the
            # booth on; otherwise the participant is told their number.
            self._claims.pop(msg.ref)
            self.dispatch(st.CheckedIn(now, msg.number))
        elif isinstance(msg, p.Error) and msg.ref in self._claims:
            code = self._claims.pop(msg.ref)
            refused = "booth.check_in_refused" if kind_of(code) is CodeKind.BOOKING \
                else "booth.claim_refused"
            key = msg.text_key or CLAIM_TEXT.get(msg.code, refused)
            log.info("claim refused: %s %s", msg.code, msg.detail)
            values = tuple(sorted(msg.values.items())) if msg.text_key else ()
            self.dispatch(st.ClaimRefused(now, key, values))
        elif isinstance(msg, p.Called):
            self._called[msg.ticket] = msg.number
        elif isinstance(msg, p.Waiting):
            self.dispatch(st.Waiting(now, msg.ticket, msg.expected_wait_s, msg.position,
                                     self._called.get(msg.ticket, "")))
        elif isinstance(msg, p.Attention):
            self.dispatch(st.Attention(now, msg.focused))
        elif isinstance(msg, p.DocRequest):
            self.dispatch(st.DocsRequested(now, tuple(msg.kinds), msg.rescan, msg.reason))
        elif isinstance(msg, p.DocUpdate):
            kind = msg.kind
            for doc in self.booth.documents:  # the hub may name the document, not the kind
                if msg.document and doc.document == msg.document:
                    kind = doc.kind
            self.dispatch(st.DocUpdated(now, kind, msg.document, msg.status, msg.reason))
        elif isinstance(msg, p.Verdict):
            self.dispatch(st.VerdictGiven(now, msg.ticket, msg.reference, msg.outcome,
                                          msg.next_steps))
        else:
            async with self._lock:
                await self._call_message(msg, now)

    async def _call_message(self, msg: p.Message, now: float) -> None:
        if isinstance(msg, p.Pair):
            if self.device_id is not None and msg.booth != self.device_id:
                log.warning("ignoring a pairing for %s", msg.booth)
                return
            self.dispatch(st.Paired(now, msg.pairing, msg.hub, msg.ticket, msg.number))
            if self.booth.state in st.SESSION_STATES or self.config.flow == "direct":
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
            if msg.reason != p.ReleaseReason.DONE.value or self.booth.verdict is None:
                self.dispatch(st.Released(now, msg.pairing))
        elif isinstance(msg, p.Error):
            log.warning(
                "server error", extra={"fields": {"code": msg.code, "detail": msg.detail}}
            )

    async def _paired(self, msg: p.Pair) -> None:
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

    async def _new_track(self) -> MediaStreamTrack:
        if self._replay is not None:
            # Out of focus (capped), the small loop, like the live camera's smaller picture.
            return ReplayTrack(self._replay, clock=self.clock,
                               small=lambda: self._video_cap() is not None)
        if self._tee is None:
            await self._camera_on()
        if self._tee is None:
            raise BoothError("the booth camera is not running")
        return SourceTrack(self._tee)

    async def _call(self, pairing: str, hub: str) -> None:
        await self._drop_peer()
        try:
            audio = make_microphone(self.config)
        except BoothError as exc:
            self._device_health("microphone", selftest.error(str(exc)))
            audio = None
        peer = BoothPeer(pairing, hub, await self._new_track(), on_state=self._peer_state,
                         audio=audio, on_track=self.incoming.attach,
                         video_cap=self._video_cap)
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

    def _video_cap(self) -> int | None:
        """Full quality for the officer's focus, a smaller picture at a lower bitrate for a
        booth that only shows a tile. Read by the encoder on every frame, so a change of
        focus shows on the next one (a replayed booth: at the next keyframe of its loop)."""
        return None if self.booth.focused else limits.UNFOCUSED_VIDEO_BITRATE

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
        if self.config.flow == "direct":
            await self._request_service(limits.REREQUEST_DELAY_S)

    async def _drop_peer_locked(self, peer: BoothPeer | None) -> None:
        async with self._lock:
            if peer is not None and peer is self.peer:
                await self._drop_peer()

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
            if peer.audio is not None:
                peer.audio.stop()
            await self.incoming.close()

    # -- documents ----------------------------------------------------------------------------

    def _start_scan(self) -> None:
        if self._scan_task is None or self._scan_task.done():
            self._scan_task = self._spawn(self._scan_loop(), "booth-scan")

    async def _stop_scan(self) -> None:
        task, self._scan_task = self._scan_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_doc_camera()

    async def _close_doc_camera(self) -> None:
        camera, self._doc_camera = self._doc_camera, None
        self.scan = None
        if camera is not None:
            await asyncio.to_thread(camera.stop)

    async def _scan_loop(self) -> None:
        factory = self._doc_camera_factory
        if factory is None:
            self._device_health("document_camera", selftest.error("not configured"))
            return
        async with self._doc_camera_lock:  # the ticket camera lets go of it first
            await self._scan_with(factory)

    async def _scan_with(self, factory: Callable[[], FrameSource]) -> None:
        try:
            camera = factory()
            await start_source(camera)  # stopped again if the booth stops meanwhile
        except (HardwareError, ValueError, RuntimeError) as exc:
            self._device_health("document_camera", selftest.error(str(exc)))
            return
        self._doc_camera = camera
        try:
            self.scan = DocumentScan(camera, frames_to_capture=self._scan_frames,
                                     reader=self._ocr)
            while self.booth.state is st.BoothState.SCANNING:
                kind = self.booth.scanning_kind
                if kind is None:
                    break
                try:
                    data = await self.scan.capture(kind)
                except CameraCannotReach as exc:
                    # Said on the screen and to the officer at once, not looped on: no
                    # placing of the document can make this camera read it.
                    self._scan_notice = (kind, exc.message)
                    self._device_health("document_camera", selftest.error(str(exc)))
                    return
                if self.booth.scanning_kind != kind:
                    continue  # the request changed while capturing
                item = self.uploader.spool(kind, data)
                reading = self.scan.reading
                self.dispatch(st.DocCaptured(self._event_time(), kind))
                self._spawn(self._send_document(kind, data, item, reading),
                            f"booth-upload-{kind}")
        except HardwareError as exc:
            self._device_health("document_camera", selftest.error(str(exc)))
        finally:
            if self._scan_task is asyncio.current_task():
                self._scan_task = None
            await self._close_doc_camera()

    async def _send_document(self, kind: str, data: bytes | None, item: Any,
                             reading: Reading | None = None) -> None:
        try:
            document = await self.uploader.send(item)
        except UploadRefused as exc:
            log.warning("%s", exc)
            self.dispatch(st.DocUpdated(self._event_time(), kind, "", "rescan", exc.detail[:200]))
            return
        if reading is not None:  # what OCR read, for the officer's console
            await send_reading(self.uploader, document, reading.payload())
        self.dispatch(st.DocUpdated(self._event_time(), kind, document, "uploaded"))

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

    async def _goodbye(self) -> None:
        await asyncio.sleep(self.config.goodbye_s)
        self.incoming.forget()
        self.dispatch(st.GoodbyeOver(self._event_time()))

    # -- the screen ---------------------------------------------------------------------------

    def view(self) -> View:
        guidance: Message | None = None
        if self.scan is not None and self.scan.frames_judged:
            guidance = self.scan.guidance
        elif self._scan_notice is not None and self._scan_notice[0] == self.booth.scanning_kind:
            guidance = self._scan_notice[1]
        return compose(self.booth, guidance, now=self._event_time())

    async def _screen_loop(self) -> None:
        period = 1.0 / limits.SCREEN_FPS
        while True:
            view = self.view()
            tee = self._tee
            self_view = tee.latest.image if tee is not None and tee.latest is not None else None
            officer = self.incoming.picture() if view.show_officer else None
            self.narrator.show(view.lines[0] if view.lines else None)
            await asyncio.to_thread(self.screen.show, view, officer, self_view)
            for key in self.screen.take_keys():
                self.press(key)
            await asyncio.sleep(period)


def _screen(config: BoothConfig) -> BoothScreen:
    setting = config.screen
    if setting in (ScreenMode.OFF.value, ScreenMode.WINDOW.value):
        return BoothScreen(setting, theme=config.theme, text_size=config.text_size)
    return BoothScreen(ScreenMode.PNG_DIR, Path(setting), theme=config.theme,
                       text_size=config.text_size)


def _document_camera(config: BoothConfig) -> Callable[[], FrameSource] | None:
    spec = config.document_camera
    if spec == "none":
        return None
    if Path(spec).is_dir():  # the emulator: still images replayed
        return lambda: ImageReplaySource(expand_images([spec]), limits.SCAN_FPS,
                                         name="document-camera")
    device: int | str = int(spec) if spec.isdigit() else spec
    width, height = (int(v) for v in config.document_camera_size.split("x"))
    return lambda: OpenCVCamera(device, width, height, limits.SCAN_FPS)


def _safe_factory(factory: Callable[[], FrameSource] | None) -> FrameSource | None:
    if factory is None:
        return None
    try:
        return factory()
    except (HardwareError, ValueError) as exc:
        log.error("cannot create a camera: %s", exc)
        return None
