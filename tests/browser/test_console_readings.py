"""In the console, beside each document: the NIK and name the booth's OCR read, and the
mismatches between the claim's documents in words (headless Chromium, real server and hub)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import UI_WAIT_MS
from tests.browser.test_console import sign_in
from tests.helpers import until
from tests.officer.conftest import Branch
from tests.officer.test_readings import BUDI, SITI, upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_the_officer_sees_the_nik_read_and_the_mismatch(branch: Branch, page: Page) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    booth = await branch.booth("booth-01", receive=False)
    await until(lambda: hub.peer_of("booth-01") is not None, "booth-01 paired")
    ktp = await upload(branch, "booth-01", "ktp", 1,
                       {"nik": SITI, "name": "SITI RAHAYU", "confidence": 91.5})
    kk = await upload(branch, "booth-01", "kk", 2, {
        "nik": BUDI, "name": "BUDI SANTOSO", "people": [{"nik": BUDI, "name": "BUDI SANTOSO"}]})
    await booth.document(ktp, "ktp")
    await booth.document(kk, "kk")
    await sign_in(page, hub)
    peer = hub.peer_of("booth-01")
    assert peer is not None
    await page.keyboard.press(str(peer.slot))
    line = page.locator(f'#documents a[data-doc="{ktp}"] ~ .read')
    await expect(line).to_contain_text(f"NIK {SITI}", timeout=UI_WAIT_MS)
    await expect(line).to_contain_text("SITI RAHAYU (92%)")
    await expect(page.locator('#documents a[data-doc="' + kk + '"] ~ .read')).to_contain_text(
        "1 anggota / members")
    await expect(page.locator('#flags li[data-kind="nik_not_on_kk"]')).to_contain_text(
        "The KTP's NIK is not on the family card", timeout=UI_WAIT_MS)
