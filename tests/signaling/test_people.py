"""People: wrong PINs lock the hub's sign-in and the manager sees it; what people do on the
command line is audited with their name, not a shared credential."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bilik.cli import main
from signaling.signinguard import SIGN_IN_FAILURES, SIGN_IN_LOCKOUT_S, SignInGuard
from signaling.store import DB_FILE
from tests.signaling.conftest import Branch


def test_the_guard_locks_a_hub_after_five_wrong_pins_and_names_the_ids_tried() -> None:
    guard = SignInGuard.new()
    locked = [guard.failed("hub-01", 100.0 + n, "officer-1") for n in range(SIGN_IN_FAILURES)]
    assert locked == [False] * (SIGN_IN_FAILURES - 1) + [True]
    assert guard.locks(105.0) == [{"hub": "hub-01", "seconds_left": SIGN_IN_LOCKOUT_S - 1.0,
                                   "officers_tried": ["officer-1"]}]
    assert guard.locks(105.0 + SIGN_IN_LOCKOUT_S) == []


async def test_five_wrong_pins_lock_the_hub_and_the_manager_sees_whose_account(
        branch: Branch) -> None:
    admin = branch.token("admin", "ani")
    headers = {"Authorization": f"Bearer {admin}"}
    async with branch.http.post(branch.url("/api/cases/officers"), headers=headers,
                                json={"id": "officer-1", "pin": "2468", "name": "Budi"}) as r:
        assert r.status == 201
    hub = await branch.connect("hub-01", "hub")
    for _ in range(SIGN_IN_FAILURES):
        reply = await hub.request({"type": "officer_sign_in", "officer": "officer-1",
                                   "pin": "0000"})
        assert reply["code"] == "unauthorized", reply
    # Locked: even the right PIN is refused at this hub for now.
    reply = await hub.request({"type": "officer_sign_in", "officer": "officer-1", "pin": "2468"})
    assert reply["code"] == "rate_limited", reply

    async with branch.http.get(branch.url("/api/officers"), headers=headers) as r:
        assert r.status == 200
        listed = await r.json()
    (officer,) = listed["officers"]
    assert officer["id"] == "officer-1" and officer["name"] == "Budi"
    assert officer["status"] == "active"
    assert [lock["hub"] for lock in officer["locked"]] == ["hub-01"]
    assert 0 < officer["locked"][0]["seconds_left"] <= SIGN_IN_LOCKOUT_S
    assert listed["locked_hubs"][0]["officers_tried"] == ["officer-1"]
    # The list is for people with an admin credential, not for a device.
    booth = {"Authorization": f"Bearer {branch.token('booth', 'booth-01')}"}
    async with branch.http.get(branch.url("/api/officers"), headers=booth) as r:
        assert r.status == 403
    async with branch.http.get(branch.url("/api/officers")) as r:
        assert r.status == 401


def test_what_people_do_on_the_command_line_is_audited_with_their_name(tmp_path: Path) -> None:
    data = tmp_path / "server"
    pin = tmp_path / "pin"
    pin.write_text("482913\n")
    assert main(["server", "officer", "add", "officer-07", "--pin-file", str(pin),
                 "--by", "ani", "--data-dir", str(data)]) == 0
    assert main(["server", "token", "--role", "admin", "--id", "ani", "--by", "ani",
                 "--data-dir", str(data)]) == 0
    assert main(["server", "enroll", "--role", "booth", "--id", "booth-01", "--by", "budi",
                 "--data-dir", str(data)]) == 0
    assert main(["server", "revoke", "booth-01", "--by", "citra", "--data-dir",
                 str(data)]) == 0
    db = sqlite3.connect(data / DB_FILE)
    try:
        rows = db.execute("SELECT actor, action, subject, detail FROM audit").fetchall()
    finally:
        db.close()
    done = {(actor, action, subject) for actor, action, subject, _detail in rows}
    assert ("person:ani", "officer_added", "officer-07") in done
    assert ("person:ani", "token_issued", "ani") in done
    assert ("person:budi", "enrolment_code_issued", "booth-01") in done
    assert ("person:citra", "device_revoked", "booth-01") in done
    revoked = next(json.loads(d) for _a, action, _s, d in rows if action == "device_revoked")
    # The code was never used: no certificate to revoke, and the code is dead too.
    assert revoked == {"certificates": 0, "codes_cancelled": 1}
