"""The officer console in headless Chromium against a real branch: server, hub, six booths.

The officer signs in, sees six live tiles, focuses with the keyboard, requests a rescan,
approves a claim and transfers a booth to another officer; a reload loses nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from officer.hub import Hub
from tests.browser.conftest import UI_WAIT_MS
from tests.helpers import until
from tests.officer.conftest import OFFICER, PIN, Branch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "console.png"


def frames(hub: Hub, booth: str) -> int:
    peer = hub.peer_of(booth)
    return 0 if peer is None else peer.meter.frames


async def six_booths(branch: Branch) -> tuple[Hub, list[Any]]:
    await branch.add_officer()
    hub = await branch.hub()
    # Booths 3-6 send only: six return-video decoders in this one test process (beside
    # the hub, the server and Chromium) would starve a small machine; 1 and 2 take part
    # in focus and get the officer or the card back.
    booths = [await branch.booth(f"booth-0{i}", receive=i <= 2) for i in range(1, 7)]
    await until(lambda: all(frames(hub, f"booth-0{i}") > 5 for i in range(1, 7)),
                "video from six booths")
    return hub, booths


async def sign_in(page: Page, hub: Hub) -> None:
    await page.goto(f"http://127.0.0.1:{hub.metrics_port}/console/")
    await page.fill("#officer", OFFICER)
    await page.fill("#pin", "000000")
    await page.click("#sign-in-button")
    await expect(page.locator("#sign-in-error")).to_contain_text("wrong PIN", timeout=UI_WAIT_MS)
    await page.fill("#pin", PIN)
    await page.click("#sign-in-button")
    await expect(page.locator("#officer-name")).to_contain_text(OFFICER, timeout=UI_WAIT_MS)


async def fill_claim(page: Page) -> None:
    """The claim data an approval records (the officer checks it against the documents)."""
    for field, value in (("nik", "3171234506780001"), ("name", "Siti Rahayu"),
                         ("bank", "BRI"), ("account", "1234567890")):
        await page.fill(f"#claim-{field}", value)


async def live_tiles(page: Page) -> int:
    """Tiles whose video has decoded frames and whose picture is not blank."""
    count: int = await page.evaluate(
        """() => [...document.querySelectorAll('.tile[data-booth]')].filter(t => {
              const video = t.querySelector('video');
              if (!video || video.videoWidth === 0) return false;
              const copy = document.createElement('canvas');
              copy.width = video.videoWidth; copy.height = video.videoHeight;
              const ctx = copy.getContext('2d');
              ctx.drawImage(video, 0, 0);
              const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
              let lo = 255, hi = 0;
              for (let i = 0; i < px.length; i += 4 * 97) {
                lo = Math.min(lo, px[i]); hi = Math.max(hi, px[i]);
              }
              return video.getVideoPlaybackQuality().totalVideoFrames >= 3 && hi - lo > 64;
            }).length"""
    )
    return count


async def test_sign_in_six_live_tiles_focus_rescan_approve_transfer(
    branch: Branch, page: Page
) -> None:
    hub, booths = await six_booths(branch)
    one = booths[0]
    await one.document("doc-ktp-1", "ktp")
    await one.document("doc-kuasa-1", "surat_kuasa")  # a kind no checklist knows
    await one.raise_hand(True, "ready")
    await sign_in(page, hub)

    # Six live tiles.
    await expect(page.locator(".tile[data-booth]")).to_have_count(6, timeout=UI_WAIT_MS)
    await page.wait_for_function(
        """() => [...document.querySelectorAll('.tile[data-booth] video')]
              .filter(v => v.getVideoPlaybackQuality().totalVideoFrames >= 3).length === 6""",
        timeout=UI_WAIT_MS,
    )
    assert await live_tiles(page) == 6

    # Keyboard focus: booth-01's key then booth-02's moves the mark and the officer's camera.
    # Slots follow the order in which booths were paired: find where booth-01 and -02 sit.
    slot_one, slot_two = (str(_slot(hub, f"booth-0{i}")) for i in (1, 2))
    await page.keyboard.press(slot_one)
    await expect(page.locator(f'.tile[data-slot="{slot_one}"]')).to_have_class(
        "tile focused", timeout=UI_WAIT_MS)
    await until(lambda: one.officer_frames > 5, "the officer's camera at booth-01")
    await page.keyboard.press(slot_two)
    await expect(page.locator(f'.tile[data-slot="{slot_two}"]')).to_have_class(
        "tile focused", timeout=UI_WAIT_MS)
    await expect(page.locator(".tile.focused")).to_have_count(1, timeout=UI_WAIT_MS)
    await until(lambda: booths[1].officer_frames > 5, "the officer's camera at booth-02")
    await page.keyboard.press(slot_one)
    await expect(page.locator("#case-title")).to_contain_text("booth-01", timeout=UI_WAIT_MS)
    hand = page.locator(f'.tile[data-slot="{slot_one}"] .badge.hand')
    await expect(hand).to_be_visible(timeout=UI_WAIT_MS)

    # Request a rescan of the ID card with a reason.
    # Documents by their human names; a kind no checklist knows, raw.
    ktp = page.locator('#documents a[data-doc="doc-ktp-1"]')
    await expect(ktp).to_have_text("KTP (kartu tanda penduduk) / National ID card",
                                   timeout=UI_WAIT_MS)
    await expect(page.locator('#documents a[data-doc="doc-kuasa-1"]')).to_have_text(
        "surat_kuasa", timeout=UI_WAIT_MS)
    await expect(page.locator('#rescan-document option[value="doc-ktp-1"]')).to_have_text(
        "KTP (kartu tanda penduduk) / National ID card", timeout=UI_WAIT_MS)
    await page.select_option("#rescan-document", "doc-ktp-1")
    await page.fill("#rescan-reason", "Foto buram / blurred photo")
    await page.click("#rescan-button")
    await until(lambda: len(one.doc_requests) == 1, "the rescan request at booth-01")
    assert one.doc_requests[0].rescan == "doc-ktp-1"
    assert one.doc_requests[0].reason == "Foto buram / blurred photo"
    # The document's status reads in words, not as a code.
    await expect(page.locator('#documents a[data-doc="doc-ktp-1"] + span')).to_have_text(
        "pindai ulang diminta / rescan asked", timeout=UI_WAIT_MS)

    # Tick the checklist and approve: the booth gets the verdict, the console the reference.
    for key in ("id_card", "family_card", "membership_card", "termination_letter", "bank_book"):
        await page.check(f'#checklist input[value="{key}"]')
    await page.select_option("#outcome", "approved")
    await fill_claim(page)
    await page.fill("#note", "Dokumen lengkap")
    await take_screenshot(page)
    await page.click("#decide-button")
    await expect(page.locator("#verdict")).to_contain_text("KLM-", timeout=UI_WAIT_MS)
    await until(lambda: len(one.verdicts) == 1, "the verdict at booth-01")
    assert one.verdicts[0].outcome == "approved"
    reference = one.verdicts[0].reference
    await expect(page.locator("#verdict")).to_contain_text(reference, timeout=UI_WAIT_MS)

    # A reload loses nothing: signed in, the case history has the decision.
    await page.reload()
    await expect(page.locator("#officer-name")).to_contain_text(OFFICER, timeout=UI_WAIT_MS)
    await expect(page.locator("#history")).to_contain_text(reference, timeout=UI_WAIT_MS)

    # Transfer booth-01 to another officer's hub.
    other = await branch.hub("hub-02")
    await until(lambda: branch.branch.book.hub("hub-02").free == 6, "hub-02's capacity")
    await page.fill("#transfer-hub", "hub-02")
    await page.click("#transfer-button")
    await until(lambda: other.peer_of("booth-01") is not None and frames(other, "booth-01") > 5,
                "booth-01's video at hub-02")
    await expect(page.locator('.tile[data-booth="booth-01"]')).to_have_count(0,
                                                                           timeout=UI_WAIT_MS)
    await expect(page.locator(".tile[data-booth]")).to_have_count(5, timeout=UI_WAIT_MS)
    assert hub.focused is None


async def test_away_mark_appears_counts_and_goes(branch: Branch, page: Page) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    one = await branch.booth("booth-01", receive=False)
    await branch.booth("booth-02", receive=False)
    await until(lambda: frames(hub, "booth-01") > 5 and frames(hub, "booth-02") > 5,
                "video from two booths")
    await sign_in(page, hub)
    tile_one = page.locator('.tile[data-booth="booth-01"]')
    await expect(tile_one).to_be_visible(timeout=UI_WAIT_MS)
    await expect(page.locator(".badge.away")).to_have_count(0)

    # The participant at booth-01 stands up and leaves: the mark, then the time counting.
    await one.seat(False)
    mark = tile_one.locator(".badge.away")
    await expect(mark).to_contain_text("PERGI / AWAY", timeout=UI_WAIT_MS)
    await expect(tile_one).to_have_class(re.compile(r"\baway\b"), timeout=UI_WAIT_MS)
    await expect(mark).to_contain_text(re.compile(r"AWAY 0:0[1-9]"), timeout=UI_WAIT_MS)
    await expect(page.locator('.tile[data-booth="booth-02"] .badge.away')).to_have_count(0)

    # Back in the chair: the mark goes.
    await one.seat(True)
    await expect(mark).to_have_count(0, timeout=UI_WAIT_MS)
    await expect(tile_one).not_to_have_class(re.compile(r"\baway\b"), timeout=UI_WAIT_MS)


async def test_sla_mark_and_time_since_attended_on_the_tiles(branch: Branch, page: Page) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    queued = await branch.booth("booth-01", receive=False, queue=True)
    await branch.booth("booth-02", receive=False)
    await until(lambda: hub.peer_of("booth-02") is not None, "booth-02 paired")
    await sign_in(page, hub)

    # A booking at booth-01 that nobody attends until its SLA is near: the queue's alert.
    await branch.at_risk_not_attended("BK-7001", queued, hub)
    tile_one = page.locator('.tile[data-booth="booth-01"]')
    tile_two = page.locator('.tile[data-booth="booth-02"]')
    sla = tile_one.locator(".badge.sla")
    await expect(sla).to_contain_text("SLA BELUM DILAYANI / NOT ATTENDED", timeout=UI_WAIT_MS)
    await expect(page.locator("#alerts")).to_contain_text("BK-7001", timeout=UI_WAIT_MS)
    await expect(tile_two.locator(".badge.sla")).to_have_count(0)

    # The officer attends booth-01: the mark goes, its timer says "now".
    await page.keyboard.press(str(_slot(hub, "booth-01")))
    await expect(sla).to_have_count(0, timeout=UI_WAIT_MS)
    await expect(tile_one.locator(".timers")).to_contain_text("sekarang/now", timeout=UI_WAIT_MS)
    # Then booth-02: booth-01 counts the time since the officer left it.
    await page.keyboard.press(str(_slot(hub, "booth-02")))
    await expect(tile_two.locator(".timers")).to_contain_text("sekarang/now", timeout=UI_WAIT_MS)
    await expect(tile_one.locator(".timers")).to_contain_text(
        re.compile(r"dilayani 0:0[1-9] lalu/ago"), timeout=UI_WAIT_MS)
    await expect(page.locator(".badge.sla")).to_have_count(0)


async def take_screenshot(page: Page) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)


def _slot(hub: Any, booth: str) -> int:
    peer = hub.peer_of(booth)
    assert peer is not None, f"{booth} is not at the hub"
    return int(peer.slot)
