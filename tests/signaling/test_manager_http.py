"""The manager's page over HTTP on a real branch server: sign-in, lock-out, idle expiry,
tokens refused, the export's bad ranges, and device health on /metrics."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import pytest

from signaling import limits, people
from signaling.manager import MANAGER_KEY
from signaling.managersessions import COOKIE
from signaling.signinguard import SIGN_IN_FAILURES
from tests.signaling.conftest import Branch, wait_until
from tests.signaling.test_documents import jpeg, open_upload, put

MANAGER, PIN = "kacab-01", "135790"


class Clock:
    """The page's monotonic clock, moved on by the test instead of waiting."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clock(branch: Branch) -> Clock:
    db = branch.server.db
    await db.call(people.add_manager, db.sync, MANAGER, PIN, "Bu Rina", time.time(), "test")
    c = Clock()
    branch.app[MANAGER_KEY].monotonic = c
    return c


async def sign_in(branch: Branch, manager: str = MANAGER, pin: str = PIN
                  ) -> tuple[int, dict[str, Any], str]:
    async with branch.http.post(branch.url("/manager/api/sign-in"),
                                json={"id": manager, "pin": pin}) as reply:
        morsel = reply.cookies.get(COOKIE)
        return reply.status, await reply.json(), morsel.value if morsel else ""


async def get(branch: Branch, path: str, cookie: str = "", **headers: str
              ) -> tuple[int, dict[str, Any]]:
    if cookie:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    async with branch.http.get(branch.url(path), headers=headers) as reply:
        return reply.status, await reply.json()


async def overview(branch: Branch, cookie: str, *, background: bool = True
                   ) -> tuple[int, dict[str, Any]]:
    return await get(branch, "/manager/api/overview" + ("?background=1" if background else ""),
                     cookie)


async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
        branch: Branch, clock: Clock) -> None:
    async with branch.http.post(branch.url("/manager/api/sign-in"),
                                json={"id": MANAGER, "pin": PIN}) as reply:
        assert reply.status == 200, await reply.text()
        morsel = reply.cookies[COOKIE]
        assert morsel["httponly"] and morsel["samesite"] == "Strict"
        assert morsel["path"] == "/manager"
        cookie = morsel.value
    status, state = await overview(branch, cookie, background=False)
    assert status == 200 and state["manager"] == MANAGER
    assert state["poll_s"] == limits.MANAGER_POLL_S

    async with branch.http.post(branch.url("/manager/api/sign-out"),
                                headers={"Cookie": f"{COOKIE}={cookie}"}) as reply:
        assert reply.status == 200
    status, body = await overview(branch, cookie)
    assert (status, body["error"]) == (401, "signed_out")
    status, body = await overview(branch, "")
    assert (status, body["error"]) == (401, "not_signed_in")
    actions = [e.action for e in await branch.server.db.call(
        branch.server.db.sync.audit_log, 0, 1000)]
    assert "manager_signed_in" in actions and "manager_signed_out" in actions


async def test_wrong_pins_lock_the_id_out_even_for_the_right_pin(
        branch: Branch, clock: Clock) -> None:
    for left in range(limits.MANAGER_SIGN_IN_FAILURES - 1, 0, -1):
        status, body, cookie = await sign_in(branch, pin="000000")
        assert (status, body["error"], cookie) == (401, "wrong_credential", "")
        assert f"{left} tries left" in body["detail"]
    status, body, _ = await sign_in(branch, pin="000000")
    assert (status, body["error"]) == (429, "locked_out")
    status, body, cookie = await sign_in(branch)  # the right PIN, while locked
    assert (status, body["error"], cookie) == (429, "locked_out", "")
    assert "try again in" in body["detail"]
    clock.now += limits.MANAGER_LOCKOUT_S
    status, body, cookie = await sign_in(branch)
    assert status == 200 and cookie
    failed = [e for e in await branch.server.db.call(branch.server.db.sync.audit_log, 0, 1000)
              if e.action == "manager_sign_in_failed"]
    assert len(failed) == limits.MANAGER_SIGN_IN_FAILURES and failed[-1].detail["locked"]


async def test_a_burst_of_guesses_at_once_cannot_outrun_the_count(
        branch: Branch, clock: Clock) -> None:
    guesses = await asyncio.gather(*(sign_in(branch, pin=f"{n:06d}") for n in range(12)))
    statuses = sorted(status for status, _, _ in guesses)
    failures = limits.MANAGER_SIGN_IN_FAILURES
    assert statuses == [401] * (failures - 1) + [429] * (len(guesses) - failures + 1)
    failed = [e for e in await branch.server.db.call(branch.server.db.sync.audit_log, 0, 1000)
              if e.action == "manager_sign_in_failed"]
    assert len(failed) == failures  # the later ones were refused before any PIN check


async def test_guessing_across_many_ids_locks_the_address(
        branch: Branch, clock: Clock) -> None:
    for n in range(limits.MANAGER_ADDRESS_FAILURES):
        status, body, _ = await sign_in(branch, manager=f"guess-{n}")
        assert status in (401, 429), body
    status, body, cookie = await sign_in(branch)  # the right PIN of a real manager
    assert (status, body["error"], cookie) == (429, "locked_out", "")
    assert "too many wrong PINs for address 127.0.0.1" in body["detail"]
    clock.now += limits.MANAGER_LOCKOUT_S
    assert (await sign_in(branch))[0] == 200


@pytest.mark.parametrize(("body", "problem"), [
    ({"id": "Kacab 01", "pin": "135790"}, "manager id must be"),
    ({"id": MANAGER}, "pin is required"),
    ({"pin": "135790"}, "manager id must be"),
])
async def test_malformed_sign_ins_are_told_what_is_wrong(
        branch: Branch, clock: Clock, body: dict[str, str], problem: str) -> None:
    async with branch.http.post(branch.url("/manager/api/sign-in"), json=body) as reply:
        assert reply.status == 400
        assert problem in (await reply.json())["detail"]


async def test_an_idle_session_expires_and_background_refreshes_do_not_keep_it(
        branch: Branch, clock: Clock) -> None:
    _, _, cookie = await sign_in(branch)
    clock.now += limits.MANAGER_IDLE_S - 1
    assert (await overview(branch, cookie))[0] == 200  # a refresh, not activity
    clock.now += 1
    status, body = await overview(branch, cookie)
    assert (status, body["error"]) == (401, "session_expired")
    assert "15 minutes without activity" in body["detail"]

    _, _, cookie = await sign_in(branch)
    clock.now += limits.MANAGER_IDLE_S - 1
    async with branch.http.post(branch.url("/manager/api/activity"),
                                headers={"Cookie": f"{COOKIE}={cookie}"}) as reply:
        assert reply.status == 200  # the manager did something
    clock.now += limits.MANAGER_IDLE_S - 1
    assert (await overview(branch, cookie))[0] == 200


async def test_the_pages_own_listing_of_recordings_does_not_keep_an_idle_session(
        branch: Branch, clock: Clock) -> None:
    # The page lists today's recordings by itself after sign-in: a background read. Counted
    # as activity, it would keep an unattended page signed in (it did, now and then).
    _, _, cookie = await sign_in(branch)
    clock.now += limits.MANAGER_IDLE_S - 1
    assert (await get(branch, "/manager/api/recordings?background=1", cookie))[0] == 200
    clock.now += 1
    status, body = await get(branch, "/manager/api/recordings?background=1", cookie)
    assert (status, body["error"]) == (401, "session_expired")

    _, _, cookie = await sign_in(branch)
    clock.now += limits.MANAGER_IDLE_S - 1
    assert (await get(branch, "/manager/api/recordings?case=A001", cookie))[0] == 200  # Find
    clock.now += limits.MANAGER_IDLE_S - 1
    assert (await overview(branch, cookie))[0] == 200


@pytest.mark.parametrize("role", ["admin", "hub", "booth"])
async def test_device_and_admin_tokens_cannot_open_the_page(
        branch: Branch, clock: Clock, role: str) -> None:
    token = branch.token(role, f"{role}-01")
    for path in ("/manager/api/overview", "/manager/api/export.csv?from=2026-01-01&to=2026-01-01"):
        status, body = await get(branch, path, Authorization=f"Bearer {token}")
        assert (status, body["error"]) == (403, "manager_sign_in_required")
        assert f"{role} token" in body["detail"]
    # Even next to a valid session cookie, a token is refused rather than ignored.
    _, _, cookie = await sign_in(branch)
    status, _ = await get(branch, "/manager/api/overview", cookie,
                          Authorization=f"Bearer {token}")
    assert status == 403


async def test_a_disabled_manager_is_signed_out_at_the_next_request(
        branch: Branch, clock: Clock) -> None:
    _, _, cookie = await sign_in(branch)
    db = branch.server.db
    await db.call(people.set_active, db.sync, MANAGER, False, time.time(), "test")
    status, body = await overview(branch, cookie)
    assert (status, body["error"]) == (401, "account_disabled")
    status, body, _ = await sign_in(branch)
    assert status == 401


@pytest.mark.parametrize(("query", "problem"), [
    ("", "from is required, as a date YYYY-MM-DD"),
    ("from=2026-12-01", "to is required"),
    ("from=2026-13-01&to=2026-12-01", "from: '2026-13-01' is not a date YYYY-MM-DD"),
    ("from=01-12-2026&to=2026-12-01", "is not a date"),
    ("from=2026-12-07&to=2026-12-01", "to (2026-12-01) is before from (2026-12-07)"),
    ("from=2026-01-01&to=2026-12-31", "365 days is too long a range: export at most 31 days"),
])
async def test_a_bad_export_range_is_refused_with_what_is_wrong(
        branch: Branch, clock: Clock, query: str, problem: str) -> None:
    _, _, cookie = await sign_in(branch)
    status, body = await get(branch, f"/manager/api/export.csv?{query}", cookie)
    assert (status, body["error"]) == (400, "bad_range")
    assert problem in body["detail"]


async def test_device_health_is_on_metrics_per_device_and_part(
        branch: Branch, clock: Clock) -> None:
    booth = await branch.connect("booth-01", "booth")
    reply = await booth.request({"type": "status", "state": "idle",
                                 "health": {"printer": "error: paper out", "camera": "ok"}})
    assert reply["type"] == "ok"
    # The server answers "ok" first and tells its features after: wait for the metric.
    text = await wait_until(lambda: metrics_with(
        branch, 'bilik_device_health{device="booth-01",health="error",kind="printer"} 1.0'),
        "the printer's fault on /metrics")
    assert 'bilik_device_health{device="booth-01",health="ok",kind="printer"} 0.0' in text
    assert 'bilik_device_health{device="booth-01",health="ok",kind="camera"} 1.0' in text

    await booth.request({"type": "status", "state": "idle",
                         "health": {"printer": "ok", "camera": "ok"}})
    await wait_until(lambda: metrics_with(
        branch, 'bilik_device_health{device="booth-01",health="ok",kind="printer"} 1.0'),
        "the printer back to ok on /metrics")


async def metrics_with(branch: Branch, line: str) -> str:
    async with branch.http.get(branch.url("/metrics")) as r:
        text = await r.text()
    return text if line in text else ""


async def test_an_officers_rescan_counts_for_its_service_and_its_ticket(
        branch: Branch, clock: Clock) -> None:
    hub = await branch.connect("hub-01", "hub")
    assert (await hub.request({"type": "capacity", "slots": 2, "officer": "o-1"}))["type"] == "ok"
    kiosk = await branch.connect("kiosk-01", "kiosk")
    sent = await kiosk.send({"type": "ticket_request", "service": "jp"})
    info = await kiosk.expect("ticket_info", ref=sent)
    booth = await branch.connect("booth-01", "booth")
    await booth.expect("called", number=info["number"])
    assert (await booth.request({"type": "claim", "qr": info["qr"]}))["type"] == "ok"
    pairing = (await booth.expect("pair"))["pairing"]
    data = jpeg(3)
    _, opened = await open_upload(branch, data)
    _, body = await put(branch, opened["upload"], 0, data)
    await hub.send({"type": "doc_update", "peer": "booth-01", "pairing": pairing,
                    "document": body["document"], "kind": "ktp", "status": "rescan",
                    "reason": "NIK tidak terbaca"})
    await booth.expect("doc_update", document=body["document"])

    _, _, cookie = await sign_in(branch)
    status, state = await overview(branch, cookie)
    assert status == 200
    figures = state["figures"]["services"]
    assert figures["jp"]["rescans"] == 1 and figures["jht"]["rescans"] == 0
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 420 * 60))
    async with branch.http.get(branch.url(f"/manager/api/export.csv?from={day}&to={day}"),
                               headers={"Cookie": f"{COOKIE}={cookie}"}) as reply:
        assert reply.status == 200 and reply.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await reply.text())))
    assert [(r["ticket"], r["number"], r["rescans"], r["outcome"]) for r in rows] == [
        (info["ticket"], "D001", "1", "in_service")]


async def test_a_hub_locked_after_wrong_pins_is_an_alert_naming_the_account_tried(
        branch: Branch, clock: Clock) -> None:
    admin = {"Authorization": f"Bearer {branch.token('admin', 'ani')}"}
    async with branch.http.post(branch.url("/api/cases/officers"), headers=admin,
                                json={"id": "officer-1", "pin": "2468", "name": "Budi"}) as r:
        assert r.status == 201
    _, _, cookie = await sign_in(branch)
    assert not [a for a in (await overview(branch, cookie))[1]["alerts"]
                if a["kind"] == "sign_in_locked"]
    hub = await branch.connect("hub-01", "hub")
    for _ in range(SIGN_IN_FAILURES):
        reply = await hub.request({"type": "officer_sign_in", "officer": "officer-1",
                                   "pin": "0000"})
        assert reply["code"] == "unauthorized", reply
    status, state = await overview(branch, cookie)
    assert status == 200
    (alert,) = [a for a in state["alerts"] if a["kind"] == "sign_in_locked"]
    assert alert["subject"] == "hub-01" and "officer-1" in alert["detail"]
    assert "wrong PINs" in alert["detail"]
