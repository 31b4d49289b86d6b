"""Park and resume in the officer console (headless Chromium, real branch with its queue):
the parked case's tile stays, with its timer, flagged once parked too long; Resume brings
the booth back to a seat with its history."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from signaling.branchqueue import QUEUE_KEY
from tests.browser.conftest import UI_WAIT_MS
from tests.browser.test_console import _slot, frames, sign_in
from tests.officer.conftest import Branch, until
from tests.officer.test_skill_routing import ticket

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_park_keeps_the_tile_and_resume_brings_the_case_back(
    branch: Branch, page: Page,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    booths = {}
    for name in ("booth-01", "booth-02"):
        booths[name] = await branch.booth(name, receive=False, queue=True)
        info = await ticket(branch, "jht")
        await until(lambda b=booths[name], t=info.ticket: any(c.ticket == t for c in b.called),
                    f"a ticket called to {name}")
        await booths[name].claim(info.qr)
    await until(lambda: frames(hub, "booth-01") > 5 and frames(hub, "booth-02") > 5,
                "video from both booths")
    await sign_in(page, hub)
    # The officer has no skills recorded: they serve every service, and the page says so.
    await expect(page.locator("#officer-name")).to_contain_text("layanan / services: semua / all")
    mosaic_tile = page.locator('#mosaic .tile[data-booth="booth-01"]')
    await expect(mosaic_tile).to_be_visible(timeout=UI_WAIT_MS)

    # Park booth-01: its seat is freed, its tile stays among the parked cases, counting.
    await page.keyboard.press(str(_slot(hub, "booth-01")))
    await expect(page.locator("#case-title")).to_contain_text("booth-01", timeout=UI_WAIT_MS)
    await page.click("#park-button")
    parked = page.locator('#parked .tile.parked[data-parked="booth-01"]')
    await expect(parked).to_contain_text("DITUNDA / PARKED", timeout=UI_WAIT_MS)
    await expect(parked.locator(".timers")).to_contain_text(
        re.compile(r"parked 0:0[1-9]"), timeout=UI_WAIT_MS)
    await expect(parked.locator(".history")).to_contain_text("park", timeout=UI_WAIT_MS)
    await expect(mosaic_tile).to_have_count(0, timeout=UI_WAIT_MS)
    await expect(page.locator('#mosaic .tile[data-booth="booth-02"]')).to_be_visible()
    assert branch.server.app[QUEUE_KEY].scheduler.booths["booth-01"].held
    assert booths["booth-01"].releases == 1

    # Parked longer than the limit: flagged (the hub's clock moved on, not the test waiting).
    real_clock = hub.clock
    limit = hub.desk.parked["booth-01"]["limit_s"]
    hub.clock = lambda: real_clock() + limit + 1
    try:
        await expect(parked).to_have_class(re.compile(r"\boverdue\b"), timeout=UI_WAIT_MS)
        await expect(parked).to_contain_text("PARKED TOO LONG", timeout=UI_WAIT_MS)
    finally:
        hub.clock = real_clock

    # Resume: the booth back in a seat with its video, the parked tile gone, history kept.
    await parked.locator("button.resume").click()
    await expect(parked).to_have_count(0, timeout=UI_WAIT_MS)
    await expect(mosaic_tile).to_be_visible(timeout=UI_WAIT_MS)
    await until(lambda: frames(hub, "booth-01") > 5, "booth-01's video again")
    await page.keyboard.press(str(_slot(hub, "booth-01")))
    await expect(page.locator("#history")).to_contain_text("park", timeout=UI_WAIT_MS)
    await expect(page.locator("#history")).to_contain_text("resume", timeout=UI_WAIT_MS)
