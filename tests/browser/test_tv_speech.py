"""Calls spoken aloud on the queue display's TV page, in headless Chromium.

The real display agent (espeak-ng's Indonesian voice, the WAV cache) on a real branch
server; calls made by the real queue (a kiosk's walk-ins, booths that connect, a recall
after the claim timeout). The page runs as a kiosk-mode TV would, with
``--autoplay-policy=no-user-gesture-required``; the test listens to the page's audio
element: each call plays its announcement, one after the other (each ``play`` after the
previous ``ended``), at the configured volume, and the recall is heard again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright

from frontdesk.queue_display import DisplayAgent, DisplayConfig
from hardware.speech import measure
from signaling.branchqueue import QUEUE_KEY
from signaling.queue import events as ev
from tests.frontdesk.test_kiosk import BranchFactory, hub_online, start_branch  # noqa: F401 - fixture
from tests.frontdesk.test_queue_display import walk_in
from tests.signaling.conftest import REPLY_S, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        # A TV in kiosk mode has nobody to tap it: it plays sound without a gesture.
        "--autoplay-policy=no-user-gesture-required"]
HAVE_CHROMIUM = Path(CHROMIUM).exists()
PLAYED_S = 60.0  # three announcements of ~6 s each, played in real time, on a shared machine

LISTEN = """() => {
  window.heard = [];
  const audio = document.getElementById("announcer");
  for (const kind of ["play", "ended", "error"]) {
    audio.addEventListener(kind, () => window.heard.push(
      {kind, seq: Number(audio.dataset.seq), volume: audio.volume,
       src: audio.currentSrc, at: performance.now()}));
  }
}"""


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            page = await context.new_page()
            try:
                yield page
            finally:
                await context.close()
        finally:
            await browser.close()


async def heard(page: Page) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = await page.evaluate("() => window.heard")
    return events


async def test_each_call_plays_its_announcement_in_turn_and_a_recall_again(
    start_branch: BranchFactory, page: Page, tmp_path: Path,  # noqa: F811
) -> None:
    branch = await start_branch()
    now = [time.time()]
    branch.server.clock = lambda: now[0]
    cache = tmp_path / "speech"
    agent = DisplayAgent(DisplayConfig(server=branch.ws_url, tv_port=0, volume=0.5,
                                       speech_cache=cache),
                         branch.token("display", "display-01"))
    try:
        await agent.start()
        await agent.wait_connected(REPLY_S)
        assert agent.tv_url is not None and agent.announcer is not None
        await page.goto(agent.tv_url)
        await page.evaluate(LISTEN)
        await page.wait_for_function("() => !document.body.classList.contains('offline')")

        await hub_online(branch)
        kiosk = await branch.connect("kiosk-01", "kiosk")
        for _ in range(2):
            await walk_in(kiosk, "jht")
        await branch.connect("booth-01", "booth")  # A001 is called to Bilik 1...
        await branch.connect("booth-02", "booth")  # ...and at once A002 to Bilik 2
        announcer = agent.announcer
        await wait_until(lambda: len(announcer.spoken) == 2, "two calls announced")
        assert [s.phrase for s in announcer.spoken] == [
            "Nomor antrean a satu, silakan menuju bilik satu",
            "Nomor antrean a dua, silakan menuju bilik dua",
        ]

        # Nobody claims A001: after the claim timeout it is recalled, and heard again.
        queue = branch.app[QUEUE_KEY]
        now[0] += queue.rules.claim_timeout_s + 1
        await queue.handle(ev.Tick(), actor="test")
        await wait_until(lambda: len(announcer.spoken) >= 3, "the recall announced")
        assert announcer.spoken[2].phrase.startswith("Panggilan ulang. Nomor antrean a satu")

        seqs = [s.seq for s in announcer.spoken[:3]]
        await page.wait_for_function(
            f"() => window.heard.filter(e => e.kind === 'ended').length >= {len(seqs)}",
            timeout=PLAYED_S * 1000)
        events = await heard(page)
        assert [e["kind"] for e in events if e["kind"] == "error"] == []
        order = [(e["kind"], e["seq"]) for e in events]
        assert order[:6] == [("play", seqs[0]), ("ended", seqs[0]), ("play", seqs[1]),
                             ("ended", seqs[1]), ("play", seqs[2]), ("ended", seqs[2])]
        assert all(e["volume"] == pytest.approx(0.5) for e in events)
        for e, spoken in zip(events[::2], announcer.spoken, strict=False):
            assert e["src"].endswith("/sounds/" + spoken.sound)
        # Played in real time, one after the other: each lasted about as long as its file.
        for start, end, spoken in zip(events[0::2], events[1::2], announcer.spoken, strict=False):
            length = measure((cache / spoken.sound).read_bytes()).duration_s
            assert (end["at"] - start["at"]) / 1000 > length * 0.8
        # One WAV per phrase (A002 was recalled too: four phrases).
        assert announcer.sounds.made == len({s.phrase for s in announcer.spoken})
    finally:
        await agent.stop()
