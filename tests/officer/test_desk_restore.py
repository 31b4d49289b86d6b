"""A restarted hub restores its officer's desk from the server: nobody signs in again."""

from __future__ import annotations

from officer.console import state
from tests.helpers import until
from tests.officer.conftest import OFFICER, Branch, stopped
from tests.officer.consolepeer import ConsolePeer


async def test_a_restarted_hub_finds_its_officer_signed_in(branch: Branch) -> None:
    await branch.add_officer()
    first = await branch.hub()
    page = ConsolePeer(first)
    try:
        await page.sign_in()
    finally:
        await page.close()
    assert first.desk.officer == OFFICER
    await stopped(first.stop(), "the first hub")
    branch.hubs.remove(first)

    again = await branch.hub()  # the same device, a new process: nothing in memory
    await until(lambda: again.desk.officer == OFFICER, "the officer restored from the server")
    assert state(again)["officer"] == OFFICER
    assert again.desk.idle_s() is not None  # the idle sign-out counts from the restart
    # And the restored desk acts: a sign-out goes to the server, and a third start finds
    # nobody.
    await again.desk.sign_out()
    await stopped(again.stop(), "the second hub")
    branch.hubs.remove(again)
    third = await branch.hub()
    await third.desk.restore()  # what it does on connecting, done once more to be sure
    assert third.desk.officer is None
