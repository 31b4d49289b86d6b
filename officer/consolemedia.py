"""The one peer connection between the officer's browser (the console page) and the hub.

The page offers (after sign-in), the hub answers; both run on the officer's PC. In it:

* the officer's camera (video, page -> hub) and microphone (audio, page -> hub), received
  undecoded into :class:`~officer.forward.ForwardedStream`s that the focused booth's
  return tracks subscribe to;
* one video per seat (hub -> page): each paired booth's video as the booth encoded it
  (:class:`~officer.forward.ForwardTrack`), so the page shows every booth at its own
  frame rate;
* the focused booth's voice (hub -> page, on the microphone's audio section), played on
  the officer's headset; no other booth's voice is sent.

The page says which media section is which (``mids``): the hub does not guess from the
order. A new offer (a reload) replaces the connection. While no console media is
connected, :class:`~officer.returnmedia.ReturnStreams` falls back to the synthetic officer
(when the hub is set so) or the card.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamTrack

from bilik.webrtc import audiolevel, backlog
from bilik.webrtc.connection import close_quietly, create_peer_connection, prefer_vp8, set_remote
from officer import limits
from officer.errors import OfficerError
from officer.forward import ForwardedStream, ForwardTrack
from officer.returnmedia import hook_keyframe_requests

log = logging.getLogger(__name__)


class ConsoleMediaError(OfficerError):
    """The page's offer cannot be taken (its sections are not what the console sends)."""


class MediaState(enum.StrEnum):
    NONE = "none"  # no page has offered
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"  # the page went away (closed, reloaded, crashed)


@dataclass(frozen=True)
class Mids:
    """Which media section of the page's offer carries what."""

    camera: str
    audio: str
    seats: tuple[str, ...]

    @classmethod
    def parse(cls, raw: Any) -> Mids:
        if not isinstance(raw, dict):
            raise ConsoleMediaError("mids must be an object: {camera, audio, seats}")
        camera, audio, seats = raw.get("camera"), raw.get("audio"), raw.get("seats")
        if not isinstance(camera, str) or not isinstance(audio, str) or not camera or not audio:
            raise ConsoleMediaError("mids.camera and mids.audio must name media sections")
        if (not isinstance(seats, list) or not 1 <= len(seats) <= limits.CONSOLE_MEDIA_SLOTS
                or not all(isinstance(m, str) and m for m in seats)):
            raise ConsoleMediaError(
                f"mids.seats must list 1 to {limits.CONSOLE_MEDIA_SLOTS} media sections")
        every = [camera, audio, *seats]
        if len(set(every)) != len(every) or any(len(m) > 32 for m in every):
            raise ConsoleMediaError("mids must name distinct media sections")
        return cls(camera, audio, tuple(seats))


class ConsoleMedia:
    """The console's media connection; see the module's docstring."""

    def __init__(
        self,
        camera: ForwardedStream,
        microphone: ForwardedStream,
        *,
        on_change: Callable[[], None],
        on_switched: Callable[[ForwardTrack, float], None] | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.camera = camera
        self.microphone = microphone
        self.on_change = on_change
        self.on_switched = on_switched
        self.wall = wall
        self.monotonic = monotonic
        self.state = MediaState.NONE
        self.pc: RTCPeerConnection | None = None
        self.seats: list[ForwardTrack] = []
        self.voice: ForwardTrack | None = None
        self.connections = 0  # offers answered since start
        self.devices: dict[str, Any] = {}  # what the page says of its devices

    @property
    def connected(self) -> bool:
        return self.state is MediaState.CONNECTED

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "camera": self.camera.live,
            "microphone": self.microphone.live,
            "connections": self.connections,
            "seats": [{"booth": t.source, "sent": t.sent} for t in self.seats],
            "voice": None if self.voice is None else {"booth": self.voice.source,
                                                       "sent": self.voice.sent},
            "devices": self.devices,
        }

    async def answer(self, offer_sdp: str, mids: Mids) -> str:
        """Answer the page's offer; an earlier connection is closed first."""
        if len(offer_sdp) > limits.CONSOLE_SDP_MAX_CHARS:
            raise ConsoleMediaError("the offer is too large")
        await self.close()
        pc = create_peer_connection()
        self.pc = pc
        self.state = MediaState.CONNECTING
        self.connections += 1
        self.seats = [self._track("video", f"seat-{n}") for n in range(1, len(mids.seats) + 1)]
        self.voice = self._track("audio", "voice")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    self._receive(transceiver.mid, transceiver.receiver, mids)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if self.pc is not pc:
                return
            if pc.connectionState == "connected":
                self.state = MediaState.CONNECTED
            elif pc.connectionState in ("failed", "closed"):
                self.state = MediaState.CLOSED
                self.camera.disconnected()
                self.microphone.disconnected()
            self.on_change()

        self.camera.connected(None)  # the receiver, once made, wires the keyframe request
        self.microphone.connected(None)
        try:
            await set_remote(pc, offer_sdp, "offer")
        except Exception as exc:  # aiortc raises ValueError and others on odd SDP
            await self.close()
            raise ConsoleMediaError(f"cannot take the console's offer: {exc}") from None
        by_mid = {t.mid: t for t in pc.getTransceivers()}
        missing = [m for m in (mids.camera, mids.audio, *mids.seats) if m not in by_mid]
        if missing:
            await self.close()
            raise ConsoleMediaError(f"the offer has no media section {missing[0]!r}")
        camera, audio = by_mid[mids.camera], by_mid[mids.audio]
        if camera.kind != "video" or audio.kind != "audio" or any(
                by_mid[m].kind != "video" for m in mids.seats):
            await self.close()
            raise ConsoleMediaError("mids name sections of the wrong kind")
        camera.direction = "recvonly"
        prefer_vp8(camera)
        audio.sender.replaceTrack(self.voice)
        audio.direction = "sendrecv"
        for mid, track in zip(mids.seats, self.seats, strict=True):
            seat = by_mid[mid]
            prefer_vp8(seat)
            seat.sender.replaceTrack(track)
            seat.direction = "sendonly"
            hook_keyframe_requests(seat.sender, track)
        await pc.setLocalDescription(await pc.createAnswer())
        self.on_change()
        return str(pc.localDescription.sdp)

    def _track(self, kind: str, name: str) -> ForwardTrack:
        track = ForwardTrack(kind, name, wall=self.wall, monotonic=self.monotonic)
        track.on_switched = self.on_switched
        return track

    def _receive(self, mid: str | None, receiver: RTCRtpReceiver, mids: Mids) -> None:
        """The officer's camera and microphone: forwarded, never decoded."""
        queue = backlog.of(receiver)
        if mid == mids.camera and queue is not None:
            backlog.attach(receiver)
            queue.video_wanted = lambda: False
            camera = self.camera
            queue.on_encoded = lambda frame: camera.push(
                frame.data, frame.timestamp, backlog.is_vp8_keyframe(frame.data))
            camera.ask_keyframe = queue.ask_keyframe
        elif mid == mids.audio:
            if queue is not None:
                queue.audio_wanted = lambda: False
            microphone = self.microphone
            audiolevel.watch(receiver, None, on_packet=lambda packet: microphone.push(
                packet.payload, packet.timestamp, True) if packet.payload else None)

    def bind(self, seats: Iterable[tuple[int, str, Callable[[], None]]],
             focused: tuple[str, Callable[[], None]] | None) -> None:
        """Which booth each seat shows (``(seat number, booth, ask keyframe)``), and whose
        voice the headset gets. A seat not named shows nothing."""
        by_seat = {number: (booth, ask) for number, booth, ask in seats}
        for number, track in enumerate(self.seats, 1):
            booth, ask = by_seat.get(number, (None, None))
            track.switch(booth, ask)
        if self.voice is not None:
            self.voice.switch(*(focused if focused is not None else (None, None)))

    def seat_track(self, booth: str) -> ForwardTrack | None:
        for track in self.seats:
            if track.source == booth:
                return track
        return None

    def voice_track(self, booth: str) -> ForwardTrack | None:
        voice = self.voice
        return voice if voice is not None and voice.source == booth else None

    async def close(self) -> None:
        pc, self.pc = self.pc, None
        for track in [*self.seats, *([self.voice] if self.voice else [])]:
            track.stop()
        self.seats, self.voice = [], None
        self.camera.disconnected()
        self.microphone.disconnected()
        if pc is not None:
            self.state = MediaState.CLOSED
            await close_quietly(pc)
            self.on_change()
