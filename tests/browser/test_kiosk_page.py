"""The kiosk's touch screen in headless Chromium: the real kiosk agent, the real branch server,
the printer emulator on a pty.

A participant chooses a service by touch and gets a ticket printed (the QR on paper is the
server's, the page states the people ahead and the wait); checks a booking in by typing its
code on the on-screen keys; a keyboard-wedge scanner's code for a booking of another day is
refused in plain words; paper out is said on the screen and the number is still given; the
help button alerts the officers. The page recovers by itself when the agent restarts.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from bilik.catalogue import Message, text
from hardware.emulators.printer import Fault, PtyPrinterEmulator
from tests.frontdesk.test_kiosk import (  # noqa: F401 - fixtures
    branch,
    decode_qr,
    hub_online,
    import_booking,
    jobs,
    printer,
    running_kiosk,
    start_branch,
)
from tests.signaling.conftest import Branch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
UI_WAIT_MS = 30_000
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "kiosk.png"
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1024},
                                                has_touch=True)
            page = await context.new_page()
            try:
                yield page
            finally:
                await context.close()
        finally:
            await browser.close()


async def says(page: Page, selector: str, message: Message) -> None:
    """``selector`` shows ``message`` in Bahasa Indonesia and in English."""
    locator = page.locator(selector)
    await expect(locator).to_contain_text(message.id, timeout=UI_WAIT_MS)
    await expect(locator).to_contain_text(message.en, timeout=UI_WAIT_MS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_a_ticket_by_touch_a_booking_by_keys_refusals_and_help(
    branch: Branch, printer: PtyPrinterEmulator, page: Page,  # noqa: F811
) -> None:
    hub = await hub_online(branch)
    await import_booking(branch, "BK-1001")
    await import_booking(branch, "BK-3003", in_s=86400.0)  # tomorrow
    async with running_kiosk(branch, printer=printer.address, control_port=0) as kiosk:
        first = await kiosk.take_ticket("jht")  # someone is already waiting
        assert first.number == "A001"
        assert kiosk.control_url is not None
        await page.goto(kiosk.control_url + "/")
        await says(page, "#home-prompt", text("frontdesk.kiosk_choose_service"))
        await says(page, "#services", text("frontdesk.service_jht"))
        await page.screenshot(path=str(SCREENSHOT))

        # A service by touch, then the priority question: one question at a time.
        await page.locator("#services button[data-service=jht]").tap()
        await says(page, "#priority-prompt", text("frontdesk.kiosk_priority_question"))
        await page.locator("#priorities button[data-priority=elderly]").tap()
        await expect(page.locator("#result-number")).to_have_text("A002", timeout=UI_WAIT_MS)
        await says(page, "#result-text", text("frontdesk.kiosk_take_ticket"))
        shown = kiosk.last
        assert shown is not None and shown.wait is not None
        await says(page, "#result-wait", shown.wait)  # the server's honest forecast
        if shown.ahead:
            await says(page, "#result-ahead", text("queue.ahead", count=shown.ahead))
        [_, job] = await jobs(printer, 2)
        assert "A002" in job.text and "Prioritas: lansia / Priority: elderly" in job.text
        assert decode_qr(job)[0].startswith("BILIK1:T:kc-01:")

        # A booking by the on-screen keys.
        await page.locator("#result button.done").tap()
        await page.locator("#booking-button").tap()
        await says(page, "#booking-prompt", text("frontdesk.kiosk_booking_prompt"))
        for key in "BK-1001":
            await page.locator(f"#keypad button[data-key='{key}']").tap()
        await expect(page.locator("#code")).to_have_value("BK-1001")
        await page.locator("#check-in-button").tap()
        await expect(page.locator("#result-number")).to_have_text("R001", timeout=UI_WAIT_MS)
        [*_, booked] = await jobs(printer, 3)
        assert "Jadwal Anda" in booked.text

        # By keyboard only: Escape goes back to the start, where a wedge scanner "types" the
        # code and Enter; a booking for another day is refused in plain words.
        await page.keyboard.press("Escape")
        await expect(page.locator("#home")).to_be_visible()
        await page.keyboard.type("BK-3003")
        await page.keyboard.press("Enter")
        await says(page, "#result-text", text("queue.booking_other_day"))
        await expect(page.locator("#result")).to_have_attribute("data-outcome", "refused")
        await expect(page.locator("#result-number")).to_have_text("")
        assert len(printer.jobs) == 3  # nothing printed for a refusal

        # Paper out: said on the screen; the number is still given.
        printer.set_faults(Fault.PAPER_OUT)
        await page.keyboard.press("Escape")
        await page.locator("#services button[data-service=jkk]").focus()
        await page.keyboard.press("Enter")
        await page.locator("#priorities button[data-priority=none]").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#result-number")).to_have_text("B001", timeout=UI_WAIT_MS)
        await says(page, "#result-text", text("frontdesk.print_failed", number="B001"))
        await says(page, "#banner", text("frontdesk.kiosk_printer_out"))

        # Help: the screen says staff are coming, and the officers get an alert.
        await page.locator("#help-button").tap()
        await says(page, "#helped-text", text("frontdesk.kiosk_help_called"))
        alert = await hub.expect("alert", kind="help_requested")
        assert alert["subject"] == "kiosk-01"


async def test_the_page_recovers_by_itself_when_the_agent_restarts(
    branch: Branch, page: Page,  # noqa: F811
) -> None:
    port = free_port()
    async with running_kiosk(branch, control_port=port) as kiosk:
        await page.goto(f"http://127.0.0.1:{port}/")
        await says(page, "#home-prompt", text("frontdesk.kiosk_choose_service"))
        await expect(page.locator("#banner")).to_be_hidden()
        boot = kiosk.control.boot if kiosk.control else ""
    # The agent is gone: the page says so instead of taking touches into the void.
    await says(page, "#banner", text("frontdesk.kiosk_reconnecting"))
    # Restarted with this kiosk's own reading settings: the page picks them up as it reloads.
    async with running_kiosk(branch, control_port=port, theme="high_contrast",
                             text_size="largest") as again:
        assert again.control is not None and again.control.boot != boot
        await expect(page.locator("#banner")).to_be_hidden(timeout=UI_WAIT_MS)
        await expect(page.locator("body")).to_have_css("background-color", "rgb(0, 0, 0)")
        await expect(page.locator("body")).to_have_css("font-size", "36px")  # 24 px x 1.5
        await page.locator("#services button[data-service=jht]").tap()
        await page.locator("#priorities button[data-priority=none]").tap()
        await expect(page.locator("#result-number")).to_have_text("A001", timeout=UI_WAIT_MS)
