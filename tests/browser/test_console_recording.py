"""A real call recorded and played back in the console: a booth agent whose participant
accepts the recording, the hub, and the officer's console in headless Chromium with its
fake camera and microphone (the officer's side of the recording). After the session the
file is on the branch server and plays in the console's <video>, as long as the call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from booth.agent import SPACE, BoothAgent
from booth.config import BoothConfig
from officer.recording import probe
from officer.recordings import RecordingState
from signaling.documentrecords import blob_path, list_documents
from tests.browser.conftest import UI_WAIT_MS
from tests.browser.test_console import sign_in
from tests.browser.test_console_media import slot
from tests.officer.conftest import Branch, stopped, until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_a_recorded_call_plays_in_the_console_as_long_as_the_call(
        branch: Branch, page: Page, tmp_path: Path) -> None:
    await branch.add_officer()
    hub = await branch.hub(inspect_video=False, synthetic_officer=False,
                           recording_dir=tmp_path / "recordings")
    config = BoothConfig(server=branch.url, id="booth-01", flow="direct", consent=True,
                         read_aloud=False, source="replay", replay_file=branch.loop_file,
                         data_dir=tmp_path / "booth-01")
    agent = BoothAgent(config, branch.token("booth-01", "booth"))
    await agent.start()
    try:
        await agent.wait_connected(30.0)
        await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                    and peer.meter.frames > 5, "booth-01's video at the hub")
        await sign_in(page, hub)
        await until(lambda: hub.console_media.connected and hub.streams.browser_video.live,
                    "the console's camera at the hub")
        peer = hub.peer_of("booth-01")
        assert peer is not None
        await page.keyboard.press(slot(hub, "booth-01"))
        await expect(page.locator("#consent")).to_have_attribute("data-consent", "none",
                                                                 timeout=UI_WAIT_MS)
        agent.press(SPACE)  # the participant agrees with the hand button
        await until(lambda: peer.recording is not None, "the recording started")
        started = time.monotonic()
        await expect(page.locator("#consent")).to_have_attribute(
            "data-consent", "accepted", timeout=UI_WAIT_MS)
        await expect(page.locator(".tile .badge.rec")).to_have_count(1, timeout=UI_WAIT_MS)
        recording = peer.recording
        assert recording is not None
        await until(lambda: recording.writer.last_ms >= 6000, "six seconds recorded")
        await stopped(agent.stop(), "booth-01")  # the participant's session ends
        await until(lambda: hub.peer_of("booth-01") is None, "booth-01's slot freed")
        lasted = time.monotonic() - started
        entry = next(e for e in hub.recordings.entries if e.info.booth == "booth-01")
        await until(lambda: entry.state is RecordingState.UPLOADED, "the recording uploaded")
    finally:
        await stopped(agent.stop(), "booth-01")

    db = branch.branch.db
    stored = [r for r in await db.call(list_documents, db.sync, entry.info.ticket)
              if r.kind == "recording"]
    assert len(stored) == 1
    info = probe(blob_path(branch.data_dir / "documents", stored[0].sha256))
    tracks = {t["title"]: t for t in info["tracks"]}
    # Both sides: the booth's camera and microphone, and what the booth got from the
    # officer's browser (its fake camera and microphone, forwarded).
    for title in ("booth-video", "booth-audio", "officer-video", "officer-audio"):
        assert tracks[title]["packets"] > 20, title
    assert lasted - 4.0 <= info["duration_s"] <= lasted + 1.0

    video = page.locator(f'#recordings video[data-document="{stored[0].id}"]')
    await expect(video).to_have_count(1, timeout=UI_WAIT_MS)
    await page.wait_for_function(
        """(id) => { const v = document.querySelector(`#recordings video[data-document="${id}"]`);
                     return v && v.readyState >= 1 && isFinite(v.duration); }""",
        arg=stored[0].id, timeout=UI_WAIT_MS)
    duration = await video.evaluate("v => v.duration")
    assert duration == pytest.approx(info["duration_s"], abs=1.0)
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function(
        """(id) => document.querySelector(`#recordings video[data-document="${id}"]`)
                   .currentTime > 1.0""", arg=stored[0].id, timeout=UI_WAIT_MS)
    width, error = await video.evaluate("v => [v.videoWidth, v.error && v.error.code]")
    assert width > 0 and error is None
