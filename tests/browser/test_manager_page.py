"""The branch manager's page in headless Chromium against a real branch server.

Devices are real sockets speaking the protocol (a hub with its officer, a kiosk, booths): a
booth reports its printer out of paper and a booking misses its slot, and the page shows both
alerts within seconds; after a few participants are served the page's figures are exactly
``/api/stats``'s, the day's chart has the hour's bar, and the CSV export opens in Python's csv
module with one row per ticket. Sign-in, the lock-out after wrong PINs, the idle sign-out and
the refusal of device and admin tokens are seen as the manager sees them.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from booth.agent import BoothAgent
from booth.config import BoothConfig
from hardware.emulators.printer import Fault, start_pty_emulator
from signaling import limits, people
from signaling.branchqueue import QUEUE_KEY
from signaling.manager import MANAGER_KEY
from signaling.officers import add_officer
from tests.browser.conftest import ARGS, CHROMIUM, HAVE_CHROMIUM
from tests.signaling.conftest import (  # noqa: F401 - fixtures
    Branch,
    BranchFactory,
    Device,
    http,
    start_branch,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MANAGER, PIN = "kacab-01", "135790"
OFFICER_PIN = "2468"
ALERT_MS = 15_000  # "within seconds": the page asks every MANAGER_POLL_S; slack for a busy CI
UI_WAIT_MS = 30_000
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "manager.png"


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def site(start_branch: BranchFactory) -> Branch:  # noqa: F811
    branch = await start_branch()
    db = branch.server.db
    await db.call(people.add_manager, db.sync, MANAGER, PIN, "Bu Rina", time.time(), "test")
    return branch


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 1200},
                                                accept_downloads=True)
            page = await context.new_page()
            try:
                yield page
            finally:
                await context.close()
        finally:
            await browser.close()


async def signed_in(page: Page, site: Branch) -> None:
    await page.goto(site.url("/manager/"))
    await expect(page.locator("#sign-in-panel")).to_be_visible(timeout=UI_WAIT_MS)
    await page.fill("#manager-id", MANAGER)
    await page.fill("#pin", PIN)
    await page.click("#sign-in-button")
    await expect(page.locator("#board")).to_be_visible(timeout=UI_WAIT_MS)
    await expect(page.locator("#manager-name")).to_have_text(MANAGER)


async def admin_get(site: Branch, path: str) -> Any:
    token = site.token("admin", "ops-1")
    async with site.http.get(site.url(path), headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def hub(site: Branch, hub_id: str = "hub-01", *, skills: tuple[str, ...] = ()
              ) -> Device:
    """A hub whose officer (``o-<hub>``, serving ``skills``; none: every service) signs in."""
    officer = f"o-{hub_id}"
    db = site.server.db
    await db.call(add_officer, db.sync, officer, OFFICER_PIN, "", time.time(), "test", skills)
    device = await site.connect(hub_id, "hub")
    reply = await device.request({"type": "officer_sign_in", "officer": officer,
                                  "pin": OFFICER_PIN})
    assert reply["type"] == "ok", reply
    reply = await device.request({"type": "capacity", "slots": 6, "officer": officer,
                                  "skills": list(skills)})
    assert reply["type"] == "ok", reply
    return device


async def ticket(kiosk: Device, service: str) -> dict[str, Any]:
    sent = await kiosk.send({"type": "ticket_request", "service": service})
    return await kiosk.expect("ticket_info", ref=sent)


async def test_a_paper_out_and_a_missed_slot_show_as_alerts_within_seconds(
        page: Page, site: Branch) -> None:
    await signed_in(page, site)
    await expect(page.locator("#alerts li.none")).to_be_visible()

    booth = await site.connect("booth-01", "booth")
    reply = await booth.request({"type": "status", "state": "idle",
                                 "health": {"printer": "error: paper out", "camera": "ok"}})
    assert reply["type"] == "ok"
    fault = page.locator('#alerts li[data-kind="device_fault"][data-subject="booth-01"]')
    await expect(fault).to_be_visible(timeout=ALERT_MS)
    await expect(fault).to_contain_text("printer error (paper out)")
    row = page.locator('#booths tr[data-booth="booth-01"]')
    await expect(row.locator('.part.fault[data-part="printer"]')).to_be_visible()
    await expect(row.locator('[data-figure="state"]')).to_contain_text("printer")

    # A booking whose slot has passed without a check-in: the queue raises its SLA alert.
    slot = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
    token = site.token("admin", "ops-1")
    async with site.http.post(
            site.url("/api/queue/appointments"), headers={
                "Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            data=f"code,service,slot,branch,name\nBK-7001,jht,{slot},kc-01,Siti\n") as r:
        assert r.status == 200, await r.text()
    sla = page.locator('#alerts li[data-kind="sla_risk"][data-subject="BK-7001"]')
    await expect(sla).to_be_visible(timeout=ALERT_MS)
    await expect(sla).to_contain_text("not checked in")
    await expect(page.locator("#alert-count")).to_have_text("2")

    # The printer is refilled: its alert goes, the SLA alert stays.
    await booth.request({"type": "status", "state": "idle",
                         "health": {"printer": "ok", "camera": "ok"}})
    await expect(fault).to_have_count(0, timeout=ALERT_MS)
    await expect(sla).to_be_visible()


async def test_a_real_booths_printer_out_of_paper_shows_until_it_is_refilled(
        page: Page, site: Branch, tmp_path: Path) -> None:
    """The booth agent itself, its printer an emulator on a pseudo-terminal."""
    printer = start_pty_emulator(tmp_path / "printer")
    config = BoothConfig(server=site.ws_url, id="booth-07", flow="direct",
                         data_dir=tmp_path / "booth", printer=printer.address)
    agent = BoothAgent(config, site.token("booth", "booth-07"), health_every_s=0.5)
    try:
        await agent.start()
        await signed_in(page, site)
        row = page.locator('#booths tr[data-booth="booth-07"]')
        await expect(row.locator('.part[data-part="printer"][data-health="ok"]')).to_be_visible(
            timeout=UI_WAIT_MS)
        printer.set_faults(Fault.PAPER_OUT)
        fault = page.locator('#alerts li[data-kind="device_fault"][data-subject="booth-07"]')
        await expect(fault).to_be_visible(timeout=ALERT_MS)
        await expect(fault).to_contain_text("printer error")
        await expect(fault).to_contain_text("paper")
        await expect(row.locator('.part.fault[data-part="printer"]')).to_be_visible()
        printer.set_faults()  # refilled: the booth's periodic check reports it
        await expect(fault).to_have_count(0, timeout=ALERT_MS)
    finally:
        await agent.stop()
        printer.close()


async def test_a_service_nobody_signed_in_serves_is_an_alert(page: Page, site: Branch) -> None:
    await hub(site, "hub-01", skills=("jht",))
    kiosk = await site.connect("kiosk-01", "kiosk")
    await ticket(kiosk, "jp")
    await signed_in(page, site)
    alert = page.locator('#alerts li[data-kind="unserved_service"][data-subject="jp"]')
    await expect(alert).to_be_visible(timeout=ALERT_MS)
    await expect(alert).to_contain_text("no officer signed in serves jp; 1 waiting")
    await hub(site, "hub-02", skills=("jp",))  # an officer for JP signs in: the alert goes
    await expect(alert).to_have_count(0, timeout=ALERT_MS)


async def serve_a_morning(site: Branch) -> dict[str, Device]:
    """Three walk-ins (two JHT, one JP): the first is served to the end, the second is
    seated at the same booth with the same officer, the third waits."""
    officer = await hub(site)
    kiosk = await site.connect("kiosk-01", "kiosk")
    first = await ticket(kiosk, "jht")
    second = await ticket(kiosk, "jht")
    await ticket(kiosk, "jp")
    booth = await site.connect("booth-01", "booth")
    await booth.expect("called", number=first["number"])
    assert (await booth.request({"type": "claim", "qr": first["qr"]}))["type"] == "ok"
    seated = await booth.expect("pair")
    assert (await officer.request({"type": "focus", "booth": "booth-01"}))["type"] == "ok"
    done = await officer.request({"type": "session_end", "booth": "booth-01",
                                  "outcome": "approved"})
    assert done["type"] == "ok", done
    await booth.expect("release", pairing=seated["pairing"])
    assert (await booth.request({"type": "booth_ready"}))["type"] == "ok"
    await booth.expect("called", number=second["number"])
    assert (await booth.request({"type": "claim", "qr": second["qr"]}))["type"] == "ok"
    await booth.expect("pair")
    return {"hub": officer, "kiosk": kiosk, "booth": booth}


async def test_the_days_figures_are_exactly_api_stats_with_a_chart(
        page: Page, site: Branch) -> None:
    await serve_a_morning(site)
    await hub(site, "hub-02", skills=("jp",))
    await signed_in(page, site)
    total = page.locator('#figures tr[data-service="all"]')
    await expect(total.locator('[data-figure="issued"]')).to_have_text("3", timeout=UI_WAIT_MS)
    await expect(total.locator('[data-figure="claims"]')).to_have_text("1", timeout=UI_WAIT_MS)

    day_start = site.app[QUEUE_KEY].day_start()
    stats = await admin_get(site, f"/api/stats?since={day_start}")
    expected = {"all": stats["day"], **stats["services"]}
    assert set(stats["services"]) == {"jht", "jp"}
    picks = {
        "issued": lambda f: f["issued"], "claims": lambda f: f["claims"],
        "wait_p50_s": lambda f: f["wait"]["p50_s"], "wait_p95_s": lambda f: f["wait"]["p95_s"],
        "handle_p50_s": lambda f: f["handle"]["p50_s"],
        "appointments_within_sla": lambda f: f["appointments_within_sla"],
        "no_shows": lambda f: f["no_shows"],
    }
    for service, figures in expected.items():
        row = page.locator(f'#figures tr[data-service="{service}"]')
        for name, pick in picks.items():
            cell = row.locator(f'[data-figure="{name}"]')
            assert json.loads(await cell.get_attribute("data-value") or "") == pick(figures), (
                service, name)
        # What the manager reads is the same number.
        wait = figures["wait"]["p50_s"]
        await expect(row.locator('[data-figure="wait_p50_s"]')).to_have_text(
            "—" if wait is None else f"{wait:.1f} s")
    assert stats["day"]["claims"] == 1 and stats["services"]["jht"]["issued"] == 2
    assert stats["services"]["jp"]["issued"] == 1

    # The day's chart has this hour's bar with the tickets issued in it.
    hour, figures = next(iter(stats["hours"].items()))
    bar = page.locator(f'#chart rect.bar[data-hour="{hour}"]')
    await expect(bar).to_have_attribute("data-issued", str(figures["issued"]))

    # The live queue per service and the officer with their load and skills.
    await expect(page.locator('#queue tr[data-service="jp"] [data-figure="waiting"]')
                 ).to_have_text("1")
    officer = page.locator('#officers tr[data-officer="o-hub-01"]')
    await expect(officer).to_contain_text("semua / all")
    await expect(officer.locator('[data-figure="load"]')).to_have_text("1 / 6")
    await expect(officer.locator("td").nth(2)).to_have_text("booth-01")
    await expect(page.locator('#booths tr[data-booth="booth-01"] td').nth(2)).to_have_text("A002")
    await expect(page.locator('#officers tr[data-officer="o-hub-02"] td').last).to_have_text("jp")
    await page.screenshot(path=str(SCREENSHOT), full_page=True)


async def test_the_csv_export_opens_in_pythons_csv_module_with_a_row_per_ticket(
        page: Page, site: Branch, tmp_path: Path) -> None:
    await serve_a_morning(site)
    await signed_in(page, site)
    async with page.expect_download(timeout=UI_WAIT_MS) as download_info:
        await page.click("#export-button")
    download = await download_info.value
    path = tmp_path / "export.csv"
    await download.save_as(path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["number"], r["service"], r["kind"]) for r in rows] == [
        ("A001", "jht", "walk_in"), ("A002", "jht", "walk_in"), ("D001", "jp", "walk_in")]
    served = rows[0]
    assert (served["outcome"], served["booth"], served["hub"]) == ("approved", "booth-01",
                                                                   "hub-01")
    assert served["called_at"] and served["ended_at"] and float(served["handle_s"]) >= 0
    assert (rows[1]["outcome"], rows[1]["ended_at"]) == ("in_service", "")
    assert rows[2]["outcome"] == "waiting" and rows[2]["called_at"] == ""

    # The server says text/csv with a header row; a bad range is told on the page.
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    day = rows[0]["date"]
    async with site.http.get(site.url(f"/manager/api/export.csv?from={day}&to={day}"),
                             headers={"Cookie": f"bilik_manager={cookies['bilik_manager']}"}
                             ) as r:
        assert r.content_type == "text/csv" and r.charset == "utf-8"
        assert (await r.text()).splitlines()[0].startswith("date,ticket,number,service")
    await page.fill("#export-from", "2026-12-07")
    await page.fill("#export-to", "2026-12-01")
    await page.click("#export-button")
    await expect(page.locator("#export-error")).to_contain_text(
        "to (2026-12-01) is before from (2026-12-07)", timeout=UI_WAIT_MS)


async def test_wrong_pins_lock_the_manager_out_on_the_page(page: Page, site: Branch) -> None:
    await page.goto(site.url("/manager/"))
    await expect(page.locator("#sign-in-panel")).to_be_visible(timeout=UI_WAIT_MS)
    error = page.locator("#sign-in-error")
    for left in range(limits.MANAGER_SIGN_IN_FAILURES - 1, 0, -1):
        await page.fill("#manager-id", MANAGER)
        await page.fill("#pin", "999999")
        await page.click("#sign-in-button")
        await expect(error).to_contain_text(f"wrong PIN ({left} tries left", timeout=UI_WAIT_MS)
    await page.fill("#manager-id", MANAGER)
    await page.fill("#pin", "999999")
    await page.click("#sign-in-button")
    await expect(error).to_contain_text("too many wrong PINs", timeout=UI_WAIT_MS)
    await page.fill("#manager-id", MANAGER)
    await page.fill("#pin", PIN)
    await page.click("#sign-in-button")
    await expect(error).to_contain_text("try again in", timeout=UI_WAIT_MS)
    assert await page.locator("#board").is_hidden()


async def test_an_idle_page_signs_out_and_says_why(page: Page, site: Branch) -> None:
    clock = Clock()
    site.app[MANAGER_KEY].monotonic = clock
    await signed_in(page, site)
    clock.now += limits.MANAGER_IDLE_S  # nobody touched the page for that long
    await expect(page.locator("#sign-in-panel")).to_be_visible(timeout=ALERT_MS)
    await expect(page.locator("#session-note")).to_contain_text("minutes without activity")
    assert await page.locator("#board").is_hidden()


@pytest.mark.parametrize("role", ["admin", "hub"])
async def test_an_admin_or_officer_token_cannot_open_the_page(
        page: Page, site: Branch, role: str) -> None:
    await page.set_extra_http_headers(
        {"Authorization": f"Bearer {site.token(role, f'{role}-01')}"})
    await page.goto(site.url("/manager/"))
    await expect(page.locator("#sign-in-panel")).to_be_visible(timeout=UI_WAIT_MS)
    await expect(page.locator("#session-note")).to_contain_text(f"not a {role} token"
                                                                if role == "hub" else
                                                                "not an admin token")
    assert await page.locator("#board").is_hidden()
