"""The decision records the claim's key data (headless Chromium, real server and hub): the
form is prefilled with the NIK and name the booth's OCR read, the officer corrects it and
adds the bank account; bad data gets a clear refusal in both languages and stores nothing;
good data is stored with the decision and its audit entry."""

from __future__ import annotations

import json
import sqlite3

import pytest
from playwright.async_api import Page, expect

from signaling.store import DB_FILE
from tests.browser.conftest import UI_WAIT_MS
from tests.browser.test_console import sign_in
from tests.officer.conftest import Branch, until
from tests.officer.test_readings import SITI, upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def rows(branch: Branch, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(branch.data_dir / DB_FILE) as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]


async def test_claim_data_prefilled_checked_and_stored_with_the_decision(
    branch: Branch, page: Page,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    booth = await branch.booth("booth-01", receive=False)
    await until(lambda: hub.peer_of("booth-01") is not None, "booth-01 paired")
    ktp = await upload(branch, "booth-01", "ktp", 1,
                       {"nik": SITI, "name": "SITI RAHAYU", "confidence": 91.5})
    await booth.document(ktp, "ktp")
    await sign_in(page, hub)
    peer = hub.peer_of("booth-01")
    assert peer is not None
    await page.keyboard.press(str(peer.slot))

    # Prefilled from what the ID card gave; the officer corrects the name's case.
    await expect(page.locator("#claim-nik")).to_have_value(SITI, timeout=UI_WAIT_MS)
    await expect(page.locator("#claim-name")).to_have_value("SITI RAHAYU", timeout=UI_WAIT_MS)
    await page.fill("#claim-name", "Siti Rahayu")
    await page.select_option("#outcome", "approved")
    error = page.locator("#action-error")

    async def refused(*words: str) -> None:
        await page.click("#decide-button")
        for word in words:
            await expect(error).to_contain_text(word, timeout=UI_WAIT_MS)
        assert rows(branch, "SELECT * FROM decisions") == []
        assert booth.verdicts == []

    # An approval needs the bank account.
    await refused("Data klaim belum lengkap", "The claim data is incomplete", "bank, account")
    await page.fill("#claim-bank", "BRI")
    await page.fill("#claim-account", "0123-4567-89ab")
    await refused("Nomor rekening harus", "The account number must be 6 to 20 digits")
    await page.fill("#claim-account", "0123 4567 8901 234")
    await page.fill("#claim-nik", "3171234506780000")  # serial 0000: no NIK
    await refused("NIK tidak valid", "The NIK is not valid", "serial number 0000")
    # What the officer typed survives a reload (the page keeps it until the decision).
    await page.reload()
    await page.keyboard.press(str(peer.slot))
    await expect(page.locator("#claim-nik")).to_have_value("3171234506780000",
                                                           timeout=UI_WAIT_MS)
    await page.fill("#claim-nik", SITI)
    await page.select_option("#outcome", "approved")
    await page.click("#decide-button")
    await expect(page.locator("#verdict")).to_contain_text("KLM-", timeout=UI_WAIT_MS)
    await expect(error).to_have_text("", timeout=UI_WAIT_MS)

    want = {"nik": SITI, "name": "Siti Rahayu", "bank": "BRI", "account": "012345678901234"}
    (reference, claim), = rows(branch, "SELECT reference, claim FROM decisions")
    assert json.loads(str(claim)) == want
    (detail,), = rows(branch, "SELECT detail FROM audit WHERE action='decision'")
    audited = json.loads(str(detail))
    assert audited["reference"] == reference and audited["claim"] == want
    await until(lambda: len(booth.verdicts) == 1, "the verdict at the booth")
    await expect(page.locator("#history")).to_contain_text(f"NIK {SITI}", timeout=UI_WAIT_MS)
