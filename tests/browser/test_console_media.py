"""The officer's browser is the officer's media, in headless Chromium with fake devices
(the test pattern as the camera, a tone as the microphone) against a real server, a real
hub and real booths: what the officer sends reaches the focused booth, what the booths
send reaches the page, and the page copes with reloads and a camera that goes away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from officer.hub import Hub
from tests.browser.conftest import ARGS, CHROMIUM, UI_WAIT_MS
from tests.browser.test_console import sign_in
from tests.helpers import until
from tests.officer.conftest import Branch
from tests.officer.simbooth import SimBooth

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def frames_decoded(page: Page) -> list[int]:
    """framesDecoded of each seat's inbound video, from the page's own getStats."""
    decoded: list[int] = await page.evaluate(
        """async () => Promise.all(window.bilikMedia.seats.map(async (s) => {
              let n = 0;
              (await s.receiver.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp') n = r.framesDecoded || 0; });
              return n; }))""")
    return decoded


async def headset_samples(page: Page) -> int:
    samples: int = await page.evaluate(
        """async () => { let n = 0;
              (await window.bilikMedia.audio.receiver.getStats()).forEach((r) => {
                if (r.type === 'inbound-rtp') n = r.totalSamplesReceived || 0; });
              return n; }""")
    return samples


async def serving(branch: Branch, count: int) -> tuple[Hub, list[SimBooth]]:
    await branch.add_officer()
    # The hub as deployed: no decoding, no synthetic officer (the card until the console's
    # camera comes).
    hub = await branch.hub(inspect_video=False, synthetic_officer=False)
    booths = [await branch.booth(f"booth-0{i}", receive=i <= 2) for i in range(1, count + 1)]
    await until(lambda: all((peer := hub.peer_of(b)) is not None and peer.meter.frames > 5
                            for b in (f"booth-0{i}" for i in range(1, count + 1))),
                "video from every booth at the hub")
    return hub, booths


def slot(hub: Hub, booth: str) -> str:
    peer = hub.peer_of(booth)
    assert peer is not None
    return str(peer.slot)


async def test_officer_in_the_browser_six_booths_in_the_page_focus_and_reload(
    branch: Branch, page: Page,
) -> None:
    hub, booths = await serving(branch, 6)
    one, two = booths[0], booths[1]
    assert hub.officer_media()["source"] == "none"
    await sign_in(page, hub)
    await until(lambda: hub.console_media.connected and hub.streams.browser_video.live,
                "the console's camera at the hub")
    await expect(page.locator("#media-source")).to_have_attribute("data-source", "browser",
                                                                  timeout=UI_WAIT_MS)
    # Every booth decoded in the page: framesDecoded grows for all six seats.
    await page.wait_for_function("() => window.bilikMedia && window.bilikMedia.seats",
                                 timeout=UI_WAIT_MS)
    first = await frames_decoded(page)
    await until_async(page, lambda: frames_decoded(page),
                      lambda now: sum(1 for a, b in zip(first, now, strict=True) if b > a + 15)
                      == 6, "six booths decoded in the page")

    # Focus booth-01: it decodes the officer's browser camera (the Y4M's timecodes read)
    # and hears the officer's tone; booth-02 keeps the card and silence.
    await page.keyboard.press(slot(hub, "booth-01"))
    await until(lambda: one.officer_frames > 10, "the browser's camera at booth-01")
    await until(lambda: one.voice_frames > 20, "the browser's microphone at booth-01")
    card, silent = two.card_frames, two.silent_frames
    await until(lambda: two.card_frames > card + 2 and two.silent_frames > silent,
                "the card and silence at booth-02")
    assert two.officer_frames == 0 and two.voice_frames == 0
    assert hub.streams.officer_video is None  # no synthetic officer in this hub
    # The headset plays booth-01, and only booth-01 is sent to it.
    one.tone.speaking = two.tone.speaking = True
    heard = await headset_samples(page)
    await until_async(page, lambda: headset_samples(page), lambda n: n > heard + 48_000,
                      "a second of booth-01 on the headset")
    p1, p2 = hub.peer_of("booth-01"), hub.peer_of("booth-02")
    assert p1 is not None and p2 is not None
    assert p1.heard_packets > 0 and p2.heard_packets == 0
    assert not await page.evaluate("() => document.getElementById('headset').paused")

    # Focus moves picture and voice to booth-02.
    await page.keyboard.press(slot(hub, "booth-02"))
    await until(lambda: two.officer_frames > 10 and two.voice_frames > 10,
                "the officer's camera and voice at booth-02")
    await until(lambda: p2.heard_packets > 25, "booth-02 on the headset")
    stopped = p1.heard_packets
    card = one.card_frames
    await until(lambda: one.card_frames > card + 2, "booth-01 back on the card")
    assert p1.heard_packets == stopped

    # A reload: the page offers again, the hub takes the new connection, nothing is lost.
    await page.reload()
    await until(lambda: hub.console_media.connections == 2 and hub.console_media.connected,
                "the console's media after the reload")
    officer = two.officer_frames
    await until(lambda: two.officer_frames > officer + 10, "booth-02 sees the officer again")
    assert hub.focused == "booth-02" and hub.peer_of("booth-02") is not None
    await expect(page.locator("#case-title")).to_contain_text("booth-02", timeout=UI_WAIT_MS)

    # The camera goes away mid-call: the booth gets the card, the officer a message.
    await page.evaluate("""() => { const t = document.getElementById('self-view')
                                      .srcObject.getVideoTracks()[0];
                                   t.stop(); t.dispatchEvent(new Event('ended')); }""")
    card = two.card_frames
    await until(lambda: two.card_frames > card + 2, "the card at booth-02")
    await expect(page.locator("#media-status")).to_contain_text(
        "The camera was disconnected", timeout=UI_WAIT_MS)
    await expect(page.locator("#media-status")).to_contain_text("waiting card")
    assert hub.officer_media()["devices"].get("camera") == "ended"


async def until_async(page: Page, read: Any, done: Any, what: str) -> None:
    async def check() -> bool:
        return bool(done(await read()))

    for _ in range(600):
        if await check():
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def page_without_devices() -> AsyncIterator[Page]:
    """Chromium that grants the camera but has none (this machine has no camera)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*ARGS, "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
                  "--disable-features=WebRtcHideLocalIpsWithMdns"])
        try:
            context = await browser.new_context(viewport={"width": 1600, "height": 1000})
            yield await context.new_page()
            await context.close()
        finally:
            await browser.close()


async def test_no_camera_is_said_and_the_booth_sees_the_card(
    branch: Branch, page_without_devices: Page,
) -> None:
    page = page_without_devices
    hub, booths = await serving(branch, 1)
    await sign_in(page, hub)
    await expect(page.locator("#media-status")).to_contain_text("No camera found",
                                                                timeout=UI_WAIT_MS)
    await expect(page.locator("#media-status")).to_contain_text("waiting card")
    # The page still receives the booths: the officer can see them without a camera.
    await until(lambda: hub.console_media.connected, "the console's media without devices")
    await page.keyboard.press(slot(hub, "booth-01"))
    card = booths[0].card_frames
    await until(lambda: booths[0].card_frames > card + 2, "the card at the focused booth")
    assert booths[0].officer_frames == 0
    assert hub.officer_media()["devices"]["camera"] == "missing"
    await page.wait_for_function(
        "() => document.querySelector('.tile[data-booth] video').getVideoPlaybackQuality()"
        ".totalVideoFrames > 5", timeout=UI_WAIT_MS)
