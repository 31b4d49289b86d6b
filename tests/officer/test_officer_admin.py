"""Officers managed with ``bilik server officer`` while the branch runs: add with skills,
list, disable (a disabled officer cannot sign in, and one signed in is signed out), enable,
reset the PIN; every change audited. Wrong PINs lock a hub out. Through the real server,
a real hub and its console's HTTP API."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pytest

from bilik.cli import main
from signaling import officers
from signaling.branchqueue import QUEUE_KEY
from signaling.store import DB_FILE
from tests.officer.conftest import Branch, until
from tests.officer.consolepeer import ConsolePeer


def cli(branch: Branch, *args: str, pin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if pin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(pin + "\n"))
    return main(["server", "officer", *args, "--data-dir", str(branch.data_dir)])


def db(branch: Branch, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(branch.data_dir / DB_FILE) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def audit(branch: Branch) -> list[tuple[str, str, str]]:
    rows = db(branch, "SELECT actor, action, subject FROM audit ORDER BY seq")
    return [(str(a), str(b), str(c)) for a, b, c in rows]


async def sign_in(console: ConsolePeer, officer: str, pin: str) -> tuple[int, dict[str, object]]:
    return await console.post("sign-in", {"officer": officer, "pin": pin})


async def test_add_list_disable_enable_reset_pin_each_audited(
    branch: Branch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = await branch.hub()
    console = ConsolePeer(hub)
    try:
        assert cli(branch, "add", "rina", "--name", "Rina", "--skills", "jp,jht",
                   pin="1357", monkeypatch=monkeypatch) == 0
        capsys.readouterr()
        assert cli(branch, "list", "--json") == 0
        listed = json.loads(capsys.readouterr().out)
        assert [(r["id"], r["status"], r["skills"]) for r in listed] == [
            ("rina", "active", ["jht", "jp"])]

        # Signed in, the hub announces her skills and the queue routes by them.
        status, body = await sign_in(console, "rina", "1357")
        assert status == 200, body
        assert hub.desk.skills == ["jht", "jp"]
        queue = branch.server.app[QUEUE_KEY]
        await until(lambda: queue.scheduler.hubs.get("hub-01") is not None
                    and queue.scheduler.hubs["hub-01"].skills == ["jht", "jp"]
                    and queue.scheduler.hubs["hub-01"].officer == "rina",
                    "the hub's skills in the queue")

        # Disabled while signed in: signed out at the server, and refused at the next try.
        assert cli(branch, "disable", "rina") == 0
        assert hub.desk.officer == "rina"  # the hub learns at its next request
        assert db(branch, "SELECT * FROM officer_sessions") == []
        status, body = await sign_in(console, "rina", "1357")
        assert status == 403 and "disabled" in str(body["detail"]), body
        status, body = await sign_in(console, "rina", "0000")  # no hint for a wrong PIN
        assert status == 401 and "wrong PIN" in str(body["detail"]), body

        assert cli(branch, "enable", "rina") == 0
        status, body = await sign_in(console, "rina", "1357")
        assert status == 200, body

        # A new PIN: the old one no longer works.
        assert cli(branch, "reset-pin", "rina", pin="8642", monkeypatch=monkeypatch) == 0
        status, body = await sign_in(console, "rina", "1357")
        assert status == 401, body
        status, body = await sign_in(console, "rina", "8642")
        assert status == 200, body

        assert cli(branch, "skills", "rina", "all") == 0
        capsys.readouterr()
        assert cli(branch, "list") == 0
        table = capsys.readouterr().out
        assert "rina" in table and "active" in table and "all" in table

        # Bad input: one clear line each, nothing changed.
        assert cli(branch, "skills", "rina", "jht,nope") == 1
        assert cli(branch, "disable", "nobody") == 1
        assert cli(branch, "reset-pin", "rina", pin="12", monkeypatch=monkeypatch) == 1
        err = capsys.readouterr().err
        assert "nope" in err and "no officer nobody" in err and "PIN must be" in err
        assert "Traceback" not in err

        trail = [(actor, action, subject) for actor, action, subject in audit(branch)
                 if action.startswith("officer_") and subject in ("rina", "hub-01")]
        assert [a for _, a, _ in trail if a != "officer_sign_in_failed"] == [
            "officer_added", "officer_sign_in", "officer_sign_out", "officer_disabled",
            "officer_sign_in_refused", "officer_enabled", "officer_sign_in",
            "officer_pin_reset", "officer_sign_in", "officer_skills"]
        # Attributed to the person at the command line (issue 18): --by, else the login.
        assert all(actor.startswith("person:") for actor, action, _ in trail if action in (
            "officer_added", "officer_disabled", "officer_enabled", "officer_pin_reset",
            "officer_skills"))
    finally:
        await console.close()


async def test_wrong_pins_lock_the_hub_out_even_for_the_right_pin(
    branch: Branch, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await branch.add_officer("budi", "2468")
    hub = await branch.hub()
    console = ConsolePeer(hub)
    try:
        for _ in range(officers.SIGN_IN_FAILURES):
            status, body = await sign_in(console, "budi", "1111")
            assert status == 401, body
        status, body = await sign_in(console, "budi", "2468")
        assert status == 429 and "too many wrong PINs" in str(body["detail"]), body
        assert hub.desk.officer is None
        # Another hub is not locked out.
        other = await branch.hub("hub-02")
        other_console = ConsolePeer(other)
        try:
            status, body = await sign_in(other_console, "budi", "2468")
            assert status == 200, body
        finally:
            await other_console.close()
        # Once the lock-out is over (the server's clock moved on), the right PIN works.
        real_clock = branch.branch.clock
        branch.branch.clock = lambda: real_clock() + officers.SIGN_IN_LOCKOUT_S + 1
        status, body = await sign_in(console, "budi", "2468")
        assert status == 200, body
        failed = [e for e in audit(branch) if e[1] == "officer_sign_in_failed"]
        assert len(failed) == officers.SIGN_IN_FAILURES and failed[0] == (
            "hub-01", "officer_sign_in_failed", "budi")
    finally:
        await console.close()
        branch.branch.clock = time.time
