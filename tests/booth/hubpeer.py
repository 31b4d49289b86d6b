"""A small but real officer hub for booth tests: a signaling client and an aiortc peer.

It is not :class:`officer.hub.Hub` on purpose: the booth's tests must drive the officer's
side step by step (ask for documents, accept or reject, decide) and look at what the booth
sent, without the console. Everything it does goes over the real server and a real
WebRTC connection: it answers the booth's offer with the officer's picture (plain green,
easy to find on the booth's screen) and silence (or the microphone track given), and
counts the booth's frames.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from bilik.tasks import TaskSet
from bilik.webrtc.connection import close_quietly, create_peer_connection
from hardware.camera import SourceTrack, SyntheticSource
from hardware.testpattern import TimecodeError, read_frame_timecode
from signaling import protocol as p
from signaling.client import SignalingClient

OFFICER_BGR = (0, 200, 0)
WAIT_S = 60.0


def officer_picture(_t: float) -> np.ndarray:
    picture = np.zeros((480, 640, 3), np.uint8)
    picture[:] = OFFICER_BGR
    return picture


class HubPeer:
    def __init__(self, url: str, token: str, http_base: str, *,
                 microphone: Callable[[], MediaStreamTrack] = AudioStreamTrack) -> None:
        self.microphone = microphone
        self.client = SignalingClient(url, token, on_message=self._on_message)
        self.token = token
        self.http_base = http_base
        self.inbox: asyncio.Queue[p.Message] = asyncio.Queue()
        self.pairings: dict[str, p.Pair] = {}
        self.pc: RTCPeerConnection | None = None
        self.booth_video_frames = 0
        self.booth_audio_frames = 0
        self.timecodes = 0  # booth frames whose capture-time code was read
        self.unreadable = 0  # booth frames (of the test pattern) whose code was not
        # The sizes of the booth's decoded pictures, each time it changed: (width, height),
        # and how many frames of each size had their code read.
        self.booth_video_sizes: list[tuple[int, int]] = []
        self.timecodes_by_size: collections.Counter[tuple[int, int]] = collections.Counter()
        self._tracks: list[MediaStreamTrack] = []
        self._tasks = TaskSet()

    async def start(self) -> None:
        await self.client.start()
        await self.client.wait_connected(WAIT_S)

    async def close(self) -> None:
        await self._tasks.cancel_all()
        await self._close_pc()
        await self.client.close()

    async def _close_pc(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_quietly(pc)
        for track in self._tracks:
            track.stop()
        self._tracks = []

    async def _on_message(self, msg: p.Message) -> None:
        if isinstance(msg, p.Pair):
            self.pairings[msg.booth] = msg
        elif isinstance(msg, p.Offer):
            await self._answer(msg)
            return
        self.inbox.put_nowait(msg)

    async def expect(self, kind: type[p.Message], check: Callable[[Any], bool] = lambda m: True,
                     timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            msg = await asyncio.wait_for(self.inbox.get(), max(0.01, deadline - time.monotonic()))
            if isinstance(msg, kind) and check(msg):
                return msg

    async def _answer(self, offer: p.Offer) -> None:
        await self._close_pc()
        pc = create_peer_connection()
        self.pc = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.spawn(self._consume(track), f"hubpeer-{track.kind}")

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
        video = SourceTrack(SyntheticSource(officer_picture, 10.0, name="officer-camera"),
                            owns_source=True)
        video.source.start()
        audio = self.microphone()
        self._tracks = [video, audio]
        pc.addTrack(video)
        pc.addTrack(audio)
        await pc.setLocalDescription(await pc.createAnswer())
        await self.client.send(p.Answer(peer=offer.peer, pairing=offer.pairing,
                                        sdp=pc.localDescription.sdp))

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.VideoFrame):
                self.booth_video_frames += 1
                size = (frame.width, frame.height)
                if self.booth_video_sizes[-1:] != [size]:
                    self.booth_video_sizes.append(size)
                try:
                    read_frame_timecode(frame)
                    self.timecodes += 1
                    self.timecodes_by_size[size] += 1
                except TimecodeError:
                    self.unreadable += 1
            else:
                self.booth_audio_frames += 1

    async def request(self, msg: p.Message) -> p.Message:
        return await self.client.request(msg)

    async def open(self, slots: int = 6, officer: str = "o-01", pin: str = "2468") -> None:
        """Connect, sign the officer in (the branch fixture's o-01) and take ``slots`` booths."""
        await self.start()
        await self.request(p.OfficerSignIn(officer=officer, pin=pin))
        await self.request(p.Capacity(slots=slots, officer=officer))

    async def send(self, msg: p.Message) -> None:
        await self.client.send(msg)

    async def readings(self, ticket: str) -> tuple[int, dict[str, Any]]:
        """What the booth read from the ticket's documents, with the mismatch flags."""
        async with aiohttp.ClientSession() as http, http.get(
            f"{self.http_base}/api/readings", params={"ticket": ticket},
            headers={"Authorization": f"Bearer {self.token}"},
        ) as r:
            return r.status, await r.json()

    async def download(self, document: str) -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as http, http.get(
            f"{self.http_base}/api/documents/{document}",
            headers={"Authorization": f"Bearer {self.token}"},
        ) as r:
            return r.status, await r.read()


