"""The queue display's voice: each call (and recall) spoken on the TV, in order, one at a time.

Calls go into a bounded queue; one task turns each into its sentence
(:func:`frontdesk.spoken_calls.call_phrase`), gets the phrase's WAV (chime + words) from the
cache or has espeak-ng make it in a worker thread (:class:`hardware.speech.Announcements`),
and tells the TV feed to play it (:meth:`hardware.displays.tv.TvFeed.announce`). The TV
page plays announcements one after another, never two at once; a recall is a new
announcement ("Panggilan ulang..."), so it is heard again. Speech that cannot be made
(espeak-ng missing or failing) is reported as the display's ``speech`` health and the
calls are still shown.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bilik.devicehealth import DeviceHealth
from frontdesk.spoken_calls import call_phrase
from hardware.displays.tv import TvFeed
from hardware.speech import Announcements, SpeechError

log = logging.getLogger(__name__)

QUEUE_SIZE = 32  # calls waiting to be spoken; a burst beyond this drops the oldest


@dataclass(frozen=True)
class Spoken:
    seq: int
    number: str
    booth: str
    phrase: str
    sound: str


class Announcer:
    def __init__(self, feed: TvFeed, sounds: Announcements) -> None:
        self.feed = feed
        self.sounds = sounds
        self.health = DeviceHealth.OK
        self.detail = ""
        self.spoken: list[Spoken] = []  # the latest announcements, for tests and logs
        self._queue: asyncio.Queue[tuple[str, str, bool]] = asyncio.Queue(maxsize=QUEUE_SIZE)

    async def check(self) -> None:
        """The self-test: is espeak-ng there, with its voice? Reported, never fatal."""
        try:
            await asyncio.to_thread(self.sounds.voice.check)
        except SpeechError as exc:
            self._failed(exc)

    def called(self, number: str, booth: str, *, recall: bool = False) -> None:
        if self._queue.full():
            dropped = self._queue.get_nowait()
            log.warning("announcement of %s dropped: too many calls at once", dropped[0])
        self._queue.put_nowait((number, booth, recall))

    async def run(self) -> None:
        while True:
            number, booth, recall = await self._queue.get()
            try:
                phrase = call_phrase(number, booth, recall=recall)
                sound = await asyncio.to_thread(self.sounds.wav, phrase)
            except ValueError as exc:
                log.warning("call %s to %s cannot be spoken: %s", number, booth, exc)
                continue
            except SpeechError as exc:
                self._failed(exc)
                continue
            self.health, self.detail = DeviceHealth.OK, ""
            seq = self.feed.announce(sound, phrase)
            self.spoken = [*self.spoken[-15:], Spoken(seq, number, booth, phrase, sound)]
            log.info("announced", extra={"fields": {"number": number, "booth": booth,
                                                    "recall": recall}})

    def _failed(self, exc: SpeechError) -> None:
        if self.health is DeviceHealth.OK:
            log.warning("speech unavailable: %s", exc)
        self.health, self.detail = DeviceHealth.ERROR, f"speech: {exc}"
