"""The officer, in headless Chromium, at a hub's console: sign in, focus, documents, decide.

Chromium is the system one (``/usr/bin/chromium``), driven by Playwright for Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
UI_WAIT_MS = 60_000


@asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        raise AssertionError(f"{CHROMIUM} is missing: apt-get install chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1600, "height": 1000})
            try:
                yield await context.new_page()
            finally:
                await context.close()
        finally:
            await browser.close()


class Officer:
    """What one officer does at a console, step by step, as a person would with the page."""

    def __init__(self, page: Page, console_url: str) -> None:
        self.page = page
        self.console_url = console_url

    async def sign_in(self, officer: str, pin: str) -> None:
        page = self.page
        await page.goto(self.console_url)
        await page.fill("#officer", officer)
        await page.fill("#pin", pin)
        await page.click("#sign-in-button")
        await expect(page.locator("#officer-name")).to_contain_text(officer, timeout=UI_WAIT_MS)

    async def focus(self, booth: str) -> None:
        """Press the booth's slot key, as the officer does with the keyboard."""
        page = self.page
        tile = page.locator(f'.tile[data-booth="{booth}"]')
        await expect(tile).to_have_count(1, timeout=UI_WAIT_MS)
        slot = await tile.get_attribute("data-slot")
        assert slot is not None
        await page.locator("body").click(position={"x": 5, "y": 5})  # out of any input
        await page.keyboard.press(slot)
        await expect(tile).to_have_class("tile focused", timeout=UI_WAIT_MS)
        await expect(page.locator("#case-title")).to_contain_text(booth, timeout=UI_WAIT_MS)

    async def documents(self, count: int) -> list[tuple[str, str, str]]:
        """Wait for ``count`` uploaded documents in the case; (document id, kind, the name
        the officer reads) of each."""
        page = self.page
        links = page.locator("#documents a[data-doc]")
        await expect(links).to_have_count(count, timeout=UI_WAIT_MS)
        out = []
        for i in range(count):
            link = links.nth(i)
            out.append((str(await link.get_attribute("data-doc")),
                        str(await link.get_attribute("title")), await link.inner_text()))
        return out

    async def open_document(self, document: str) -> int:
        """Open one document in the viewer; the width of the picture the browser decoded."""
        page = self.page
        await page.click(f'#documents a[data-doc="{document}"]')
        await expect(page.locator("#viewer")).to_be_visible(timeout=UI_WAIT_MS)
        await page.wait_for_function(
            """(doc) => { const i = document.getElementById('document-image');
                return i.complete && i.naturalWidth > 0 && i.src.includes(doc); }""",
            arg=document, timeout=UI_WAIT_MS)
        width: int = await page.evaluate(
            "() => document.getElementById('document-image').naturalWidth")
        return width

    async def approve(self, note: str) -> str:
        """Tick every checklist item, approve, and return the reference the console shows."""
        page = self.page
        boxes = page.locator("#checklist input[type=checkbox]")
        await expect(boxes.first).to_be_visible(timeout=UI_WAIT_MS)
        for i in range(await boxes.count()):
            await boxes.nth(i).check()
        await page.select_option("#outcome", "approved")
        # The claim data the approval records, as the officer checked it on the documents.
        for field, value in (("nik", "3171234506780001"), ("name", "Siti Rahayu"),
                             ("bank", "BRI"), ("account", "1234567890")):
            await page.fill(f"#claim-{field}", value)
        await page.fill("#note", note)
        await page.click("#decide-button")
        verdict = page.locator("#verdict")
        await expect(verdict).to_contain_text("KLM-", timeout=UI_WAIT_MS)
        text = await verdict.inner_text()
        reference = next(w for w in text.replace("(", " ").split() if w.startswith("KLM-"))
        return reference

    async def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path), full_page=True)
