"""The branch manager's page and the records that leave the branch, in headless Chromium
against a real branch server.

- The head office is unreachable: the decided claims' evidence bundles wait in the outbox;
  the page shows the backlog (as many as ``/api/evidence/outbox`` says, and the oldest's age)
  and raises an alert once the oldest is older than the limit.
- A session's recording (a real WebM written by the hub's recording writer, uploaded through
  the real resumable upload as the hub) is found by its ticket and plays in the page's
  ``<video>`` with its length; only a signed-in manager reads it, in byte ranges.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from headoffice.scratchdb import free_port
from officer.recording import RecordingInfo, RecordingWriter
from signaling import people
from signaling.manager import MANAGER_KEY
from tests.browser.test_manager_page import (
    ALERT_MS,
    MANAGER,
    PIN,
    UI_WAIT_MS,
    admin_get,
    signed_in,
)
from tests.headoffice.branches import Desk
from tests.officer.recordmedia import Packets
from tests.signaling.conftest import (  # noqa: F401 - fixtures
    Branch,
    BranchFactory,
    http,
    start_branch,
    wait_until,
)
from tests.signaling.test_recordings import open_upload, put

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORDED_S = 3.0


async def with_manager(branch: Branch) -> Branch:
    db = branch.server.db
    await db.call(people.add_manager, db.sync, MANAGER, PIN, "Bu Rina", time.time(), "test")
    return branch


async def tried(branch: Branch, references: list[str]) -> bool:
    """Every bundle built and sent at least once, and every try failed."""
    body = await admin_get(branch, "/api/evidence/outbox")
    rows = {r["reference"]: r for r in body["bundles"]}
    return all(ref in rows and rows[ref]["state"] == "built" and rows[ref]["attempts"] >= 1
               and rows[ref]["last_error"] for ref in references)


async def test_an_unreachable_head_office_shows_the_backlog_and_then_an_alert(
        page: Page, start_branch: BranchFactory) -> None:  # noqa: F811
    nobody = free_port()  # nothing listens there: the head office is unreachable
    site = await with_manager(await start_branch(
        headoffice_url=f"http://127.0.0.1:{nobody}", outbox_retry_min_s=0.05,
        outbox_retry_max_s=0.5))
    desk = await Desk(site).open()
    references = [await desk.decide(), await desk.decide("incomplete")]
    await wait_until(lambda: tried(site, references), "both bundles tried and kept",
                     timeout=60.0)

    await signed_in(page, site)
    backlog = page.locator('#outbox [data-figure="backlog"]')
    await expect(backlog).to_have_text("2", timeout=UI_WAIT_MS)
    listed = await admin_get(site, "/api/evidence/outbox")
    assert listed["backlog"] == 2
    await expect(page.locator('#outbox [data-figure="oldest_age"]')).to_contain_text(" s")
    await expect(page.locator("#outbox-head-office")).to_contain_text("alert after 2 h")
    alert = page.locator('#alerts li[data-kind="outbox_backlog"]')
    await expect(alert).to_have_count(0)  # decided seconds ago: below the limit

    # The oldest unsent bundle passes the limit (lowered from hours to a second here).
    site.app[MANAGER_KEY].outbox_alert_s = 1.0
    await expect(alert).to_be_visible(timeout=ALERT_MS)
    await expect(alert).to_contain_text("2 evidence bundles not yet at the head office")
    await expect(alert).to_contain_text("alert after 1 s")
    await expect(page.locator("#outbox-panel")).to_have_class(re.compile(r"\blate\b"))


def recording(path: Path, seconds: float) -> bytes:
    """A session recording as the hub writes it (booth and officer, video and audio)."""
    writer = RecordingWriter(path, RecordingInfo("booth-01", "siti", "", "p-1", time.time()))
    for ms, track, data, keyframe in Packets().take(seconds):
        writer.write(track, data, ms, keyframe)
    writer.close()
    return path.read_bytes()


async def uploaded_recording(site: Branch, data: bytes) -> tuple[str, str]:
    """A session's recording uploaded by its hub after the session: (ticket, document)."""
    booth, _hub, pairing = await site.pair()
    assert (await booth.request({"type": "release", "pairing": pairing,
                                 "reason": "done"}))["type"] == "ok"
    status, opened = await open_upload(site, data, pairing)
    assert status == 201, opened
    status, done = await put(site, opened["upload"], 0, data)
    assert status == 201, done
    return str(opened["ticket"]), str(done["document"])


async def video_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate(
        "() => { const v = document.getElementById('recording-player');"
        " return {ready: v.readyState, duration: v.duration, time: v.currentTime,"
        " error: v.error && v.error.code, width: v.videoWidth}; }")
    return state


async def test_a_managers_page_plays_a_cases_recording_with_its_length(
        page: Page, start_branch: BranchFactory, tmp_path: Path) -> None:  # noqa: F811
    site = await with_manager(await start_branch())
    data = recording(tmp_path / "session.webm", RECORDED_S)
    ticket, document = await uploaded_recording(site, data)

    # Only a signed-in manager reads it: no session, or a device's token, is refused.
    async with site.http.get(site.url(f"/manager/api/recordings/{document}")) as r:
        assert r.status == 401 and (await r.json())["error"] == "not_signed_in"
    hub_token = site.token("hub", "hub-01")
    async with site.http.get(site.url(f"/manager/api/recordings/{document}"),
                             headers={"Authorization": f"Bearer {hub_token}"}) as r:
        assert r.status == 403 and (await r.json())["error"] == "manager_sign_in_required"

    await signed_in(page, site)
    row = page.locator(f'#recordings tr[data-recording="{document}"]')
    await expect(row).to_be_visible(timeout=UI_WAIT_MS)  # today's, listed at sign-in
    await page.fill("#recording-case", ticket)
    await page.click("#recordings-button")
    await expect(page.locator("#recordings tbody tr")).to_have_count(1)
    await expect(row).to_contain_text(ticket)

    # The page's own session reads it in byte ranges (a <video> seeks).
    reply = await page.request.get(site.url(f"/manager/api/recordings/{document}"),
                                   headers={"Range": "bytes=100-199"})
    assert reply.status == 206
    assert await reply.body() == data[100:200]
    reply = await page.request.get(site.url("/manager/api/recordings?case=" + "x" * 81))
    assert reply.status == 400 and (await reply.json())["error"] == "bad_case"
    reply = await page.request.get(site.url("/manager/api/recordings/d-0000000000000000"))
    assert reply.status == 404

    await row.locator("button.play").click()
    player = page.locator("#recording-player")
    await expect(player).to_be_visible()
    await page.wait_for_function(
        "() => { const v = document.getElementById('recording-player');"
        " return v.error || (v.readyState >= 1 && isFinite(v.duration)); }",
        timeout=UI_WAIT_MS)
    state = await video_state(page)
    assert state["error"] is None, state
    assert abs(state["duration"] - RECORDED_S) < 0.5, state
    assert state["width"] == 160, state  # the booth's picture, the file's first video track
    await page.evaluate("() => { const v = document.getElementById('recording-player');"
                        " v.muted = true; return v.play(); }")
    await page.wait_for_function(
        "() => document.getElementById('recording-player').currentTime > 1.0",
        timeout=UI_WAIT_MS)
    assert (await video_state(page))["error"] is None

    audit = [r for r in site.snapshot()["audit"] if r[3] == "recording_viewed"]
    assert audit and audit[-1][2] == MANAGER and audit[-1][4] == document
