"""The browser tests run against the same real branch as the hub's tests, in Debian's
Chromium driven by Playwright, with fake camera and microphone files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from tests.browser.fakemedia import chromium_media_args, write_wav, write_y4m
from tests.officer.conftest import branch, loop_file

__all__ = ["ARGS", "CHROMIUM", "UI_WAIT_MS", "branch", "fake_media", "loop_file", "page"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
UI_WAIT_MS = 30_000
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture(scope="session")
def fake_media(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Chromium's camera and microphone: the test pattern (Y4M) and a tone (WAV)."""
    root = tmp_path_factory.mktemp("fake-media")
    return chromium_media_args(write_y4m(root / "officer.y4m"), write_wav(root / "officer.wav"))


@pytest.fixture
async def page(fake_media: list[str]) -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS + fake_media,
                                          headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1600, "height": 1000})
            page = await context.new_page()
            try:
                yield page
            finally:
                await context.close()
        finally:
            await browser.close()


