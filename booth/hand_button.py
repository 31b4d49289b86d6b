"""The booth's hand button (:mod:`hardware.button`): a press raises or lowers the hand, the
button's lamp shows whether it is up.

One task: open the button, check it identifies itself (its self-test), then read its
presses, each one the same as the space key on the booth screen; and light the lamp while
the participant's hand is raised (checked on every event and every
:data:`~booth.limits.HAND_LAMP_SYNC_S`). A button that is missing, does not answer or goes
away is reported (``on_health``) and reopened with capped backoff; the booth keeps serving
(the officer still sees the participant), so it is a note in the booth's ``Status``, not a
fault that would take the booth out of the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bilik.backoff import Backoff
from booth import limits
from hardware.button import ButtonError, ButtonEventKind, HandButton
from hardware.errors import HardwareError

log = logging.getLogger(__name__)


class HandButtonLoop:
    def __init__(self, device: str, *, on_press: Callable[[], None],
                 raised: Callable[[], bool], on_health: Callable[[str], None]) -> None:
        self.device = device
        self.on_press = on_press
        self.raised = raised
        self.on_health = on_health
        self.ident = ""
        self.button: HandButton | None = None

    async def run(self) -> None:
        backoff = Backoff(limits.HAND_BUTTON_RETRY_MIN_S, limits.HAND_BUTTON_RETRY_MAX_S,
                          jitter=0.0)
        while True:
            button = HandButton(self.device)
            try:
                await button.open()
                self.ident = await button.identify()
                self.button = button
                log.info("hand button ready", extra={"fields": {"device": self.device,
                                                                "ident": self.ident}})
                self.on_health("")
                backoff.reset()
                await self._serve(button)
            except HardwareError as exc:
                log.warning("hand button: %s", exc)
                self.on_health(f"hand button: {exc}"[:200])
            finally:
                self.button = None
                await button.close()
            await asyncio.sleep(backoff.next_delay())

    async def _serve(self, button: HandButton) -> None:
        lit: bool | None = None
        while True:
            wanted = self.raised()
            if wanted != lit:
                await button.set_light(wanted)
                lit = wanted
            try:
                async with asyncio.timeout(limits.HAND_LAMP_SYNC_S):
                    event = await button.next()
            except TimeoutError:
                continue
            if event.kind is ButtonEventKind.PRESSED:
                self.on_press()
            elif event.kind is ButtonEventKind.FAULT:
                raise ButtonError(f"hand button {self.device}: {event.detail}")
