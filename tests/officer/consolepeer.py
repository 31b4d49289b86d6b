"""The console page's media, as an aiortc peer: for the hub's tests without a browser.

It does what ``officer/console/console.js`` does: signs in, offers the officer's camera (the
moving test pattern, whose timecode carries the capture time) and microphone (a tone that
can be switched off) with six receive-only seats, posts the offer to the hub's
``/console/api/media`` and applies the answer. What comes back is decoded and classified:
per seat, frames decoded and frames whose booth timecode reads; on the headset track, the
decoded audio and how much of it is loud (a booth's tone).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from bilik.tasks import TaskSet
from bilik.webrtc.connection import close_quietly, create_peer_connection, set_remote
from hardware.camera import SourceTrack, SyntheticSource
from hardware.testpattern import TestPattern, TimecodeError, read_frame_timecode
from officer.hub import Hub
from officer.voice import level_dbfs
from tests.booth.tone import ToneTrack
from tests.officer.conftest import OFFICER, PIN

SEATS = 6
LOUD_DB = -40.0


class ConsolePeer:
    def __init__(self, hub: Hub, *, camera: bool = True) -> None:
        self.hub = hub
        self.base = f"http://127.0.0.1:{hub.metrics_port}/console"
        self.with_camera = camera
        self.source: SyntheticSource | None = None
        self.camera: SourceTrack | None = None
        self.microphone = ToneTrack()
        self.microphone.speaking = True
        self.pc: Any = None
        self.seat_frames = [0] * SEATS
        self.seat_readable = [0] * SEATS
        self.seat_sizes: list[set[tuple[int, int]]] = [set() for _ in range(SEATS)]
        self.heard_frames = 0  # loud audio frames on the headset track
        self.quiet_frames = 0
        self._tasks = TaskSet()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as http, http.post(
                f"{self.base}/api/{path}", json=body,
                headers={"X-Bilik-Console": "1"}) as reply:
            return reply.status, await reply.json()

    async def sign_in(self) -> None:
        status, body = await self.post("sign-in", {"officer": OFFICER, "pin": PIN})
        assert status == 200, body

    async def connect(self) -> None:
        """Offer the console's media and apply the hub's answer (a reload: again)."""
        await self.close_pc()
        pc = create_peer_connection()
        self.pc = pc
        if self.with_camera:
            if self.source is None:
                self.source = SyntheticSource(TestPattern(640, 480).render_bgr, 15,
                                              name="console-camera", clock=time.time)
                self.source.start()
            self.camera = SourceTrack(self.source)
            camera = pc.addTransceiver(self.camera, direction="sendonly")
        else:
            camera = pc.addTransceiver("video", direction="sendonly")
        audio = pc.addTransceiver(self.microphone, direction="sendrecv")
        seats = [pc.addTransceiver("video", direction="recvonly") for _ in range(SEATS)]

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is not track:
                    continue
                if track.kind == "audio":
                    self._spawn(self._headset(track))
                elif transceiver in seats:
                    self._spawn(self._seat(seats.index(transceiver), track))

        await pc.setLocalDescription(await pc.createOffer())
        mids = {"camera": camera.mid, "audio": audio.mid, "seats": [s.mid for s in seats]}
        status, body = await self.post("media", {"sdp": pc.localDescription.sdp, "mids": mids})
        assert status == 200, body
        await set_remote(pc, body["sdp"], "answer")

    def _spawn(self, coro: Any) -> None:
        self._tasks.spawn(coro, "console-peer")

    async def _seat(self, index: int, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.VideoFrame):
                continue
            self.seat_frames[index] += 1
            self.seat_sizes[index].add((frame.width, frame.height))
            with contextlib.suppress(TimecodeError):
                read_frame_timecode(frame)
                self.seat_readable[index] += 1

    async def _headset(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.AudioFrame):
                samples: np.ndarray = frame.to_ndarray()
                if level_dbfs(samples) > LOUD_DB:
                    self.heard_frames += 1
                else:
                    self.quiet_frames += 1

    def stop_camera(self) -> None:
        """The officer's camera goes away mid-call (unplugged): nothing more is sent."""
        if self.camera is not None:
            self.camera.stop()

    async def close_pc(self) -> None:
        await self._tasks.cancel_all()
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_quietly(pc)

    async def close(self) -> None:
        await self.close_pc()
        self.microphone.stop()
        if self.source is not None:
            self.source.stop()
