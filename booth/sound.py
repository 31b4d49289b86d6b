"""What the booth plays through its one loudspeaker: the officer's voice (:class:`IncomingMedia`)
and the instructions read aloud (:class:`Narrator`).

Only a required speaker (``speaker_required``) counts in the booth's health: a booth without
sound can still serve (the officer can type), so by default a failed speaker becomes a note
(``Status.detail``) and a silent speaker takes its place; the officer's audio is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from booth import selftest
from booth.config import BoothConfig
from booth.errors import BoothError
from booth.media import IncomingMedia
from booth.narration import Narrator
from booth.speaker import Speaker, SpeakerError, SpeakerKind, make_speaker

log = logging.getLogger(__name__)


class BoothSound:
    def __init__(self, config: BoothConfig, *, on_fault: Callable[[str], None]) -> None:
        """``on_fault(health)``: a required speaker failed (``health`` says why)."""
        try:
            self.speaker = make_speaker(config.speaker)
        except ValueError as exc:
            raise BoothError(str(exc)) from None
        self.required = config.speaker_required
        self.incoming = IncomingMedia(self.speaker)
        self.narrator = Narrator(self.speaker.narration, config.data_dir / "speech",
                                 enabled=config.read_aloud, voice=config.speech_voice)
        self.note = ""  # why the booth serves without sound, for Status.detail
        self._on_fault = on_fault

    async def open(self) -> str | None:
        """Open the loudspeaker; the health word of a required one (None: not counted)."""
        if self.speaker.kind is SpeakerKind.NULL:
            return None
        try:
            await asyncio.to_thread(self.speaker.open)
        except SpeakerError as exc:
            self.failed(str(exc))
            return None
        return selftest.OK if self.required else None

    def check(self, *, known_faulty: bool) -> None:
        """The periodic check: a speaker that stopped working now is failed."""
        problem = self.speaker.check()
        if problem is not None and not known_faulty:
            self.failed(f"speaker {self.speaker.name}: {problem}")

    def failed(self, why: str) -> None:
        log.error("%s", why)
        if self.required:
            self._on_fault(selftest.error(why))
            return
        self.note = f"speaker unavailable: {why}"[:200]
        failed, self.speaker = self.speaker, Speaker()
        self.incoming.speaker = self.speaker
        self.narrator.narration = self.speaker.narration
        failed.close()

    async def close(self) -> None:
        """The officer's audio and the narration first, then the speaker itself."""
        await self.incoming.close()
        await self.narrator.close()

    async def close_speaker(self) -> None:
        await asyncio.to_thread(self.speaker.close)
