"""The hand button, through its emulator on a pty, reaches the officer's hub: a press
raises the participant's hand (``Hand(raised=True)`` at the hub, the button's lamp on), a
second press lowers it; a button that goes away is a note in the booth's Status, and the
booth keeps serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from booth.state import BoothState
from hardware.emulators.button import IDENT, ButtonEmulator
from signaling import protocol as p
from tests.booth.branch import Branch
from tests.booth.hubpeer import WAIT_S
from tests.helpers import until


@pytest.mark.slow
async def test_the_hand_button_raises_the_hand_at_the_officers_hub_and_lights_up(
    branch: Branch, tmp_path: Path,
) -> None:
    emulator = ButtonEmulator()
    hub = branch.hub()
    agent = branch.booth(tmp_path, hand_button=emulator.path)
    try:
        await hub.open()
        await agent.start()
        await until(lambda: agent.booth.state is BoothState.IN_SESSION, "paired with the hub")
        assert agent.hand_button is not None
        await until(lambda: agent.hand_button.ident == IDENT, "the button's self-test")
        assert not emulator.light

        emulator.click()  # the participant presses the button
        hand = await hub.expect(p.Hand, lambda m: m.peer == "booth-01")
        assert hand.raised and hand.pairing == agent.booth.pairing
        assert await asyncio.to_thread(emulator.wait_light, True, WAIT_S)  # "you are heard"

        emulator.click()
        lowered = await hub.expect(p.Hand, lambda m: m.peer == "booth-01")
        assert not lowered.raised
        assert await asyncio.to_thread(emulator.wait_light, False, WAIT_S)

        emulator.unplug()  # the cable is pulled: reported, the session goes on
        await until(lambda: any("hand button" in s.detail for s in branch.statuses),
                    "the note in the booth's Status")
        assert agent.booth.state is BoothState.IN_SESSION and "hand_button" not in agent.health
    finally:
        await agent.stop()
        await hub.close()
        emulator.close()
