"""`bilik server manager ...`: the branch managers' accounts from the command line."""

from __future__ import annotations

import getpass
import io
import json
from pathlib import Path

import pytest

from bilik.cli import main
from signaling import people
from signaling.store import DB_FILE, Store


def _verify(data: Path, manager: str, pin: str) -> bool:
    return people.offline(data, people.verify, manager, pin)


def _audit(data: Path) -> list[tuple[str, str, str]]:
    store = Store(data / DB_FILE)
    try:
        return [(e.actor, e.action, e.subject) for e in store.audit_log(0, 1000)]
    finally:
        store.close()


def test_add_list_disable_enable_and_reset_pin_each_audited(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "server"
    pin = tmp_path / "pin"
    pin.write_text("482913\n")
    flags = ["--data-dir", str(data)]
    assert main(["server", "manager", "add", "kacab-01", "--name", "Bu Rina",
                 "--pin-file", str(pin), *flags]) == 0
    assert _verify(data, "kacab-01", "482913") and not _verify(data, "kacab-01", "482914")
    # The PIN is stored hashed: its digits are nowhere in the database file.
    assert b"482913" not in (data / DB_FILE).read_bytes()

    capsys.readouterr()
    assert main(["server", "manager", "list", *flags]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(m["id"], m["name"], m["active"]) for m in listed] == [("kacab-01", "Bu Rina", True)]

    assert main(["server", "manager", "disable", "kacab-01", "--by", "Pak Budi", *flags]) == 0
    assert not _verify(data, "kacab-01", "482913")  # a disabled manager cannot sign in
    assert main(["server", "manager", "enable", "kacab-01", *flags]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("97531086\n"))
    assert main(["server", "manager", "reset-pin", "kacab-01", *flags]) == 0
    assert _verify(data, "kacab-01", "97531086") and not _verify(data, "kacab-01", "482913")

    # Each change is attributed to a person: --by, else the login name; never a shared "cli".
    me = f"person:{getpass.getuser()}"
    assert [a for a in _audit(data) if a[1].startswith("manager_")] == [
        (me, "manager_added", "kacab-01"), ("person:Pak Budi", "manager_disabled", "kacab-01"),
        (me, "manager_enabled", "kacab-01"), (me, "manager_pin_reset", "kacab-01")]


@pytest.mark.parametrize(("argv", "stdin", "problem"), [
    (["add", "kacab-01"], "1234\n", "PIN must be 6 to 12 digits"),
    (["add", "Kacab 01"], "123456\n", "manager id must be"),
    (["disable", "nobody"], "", "no manager nobody"),
    (["reset-pin", "nobody"], "123456\n", "no manager nobody"),
    (["reset-pin", "kacab-09"], "12ab56\n", "PIN must be"),
])
def test_bad_input_gets_one_clear_line_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: list[str], stdin: str, problem: str) -> None:
    data = tmp_path / "server"
    monkeypatch.setattr("sys.stdin", io.StringIO("24681357\n"))
    assert main(["server", "manager", "add", "kacab-09", "--data-dir", str(data)]) == 0
    before = _audit(data)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["server", "manager", *argv, "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err
    assert _audit(data) == before
    assert _verify(data, "kacab-09", "24681357")


def test_a_second_add_of_the_same_id_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "server"
    for _ in range(2):
        monkeypatch.setattr("sys.stdin", io.StringIO("24681357\n"))
        main(["server", "manager", "add", "kacab-02", "--data-dir", str(data)])
    assert "manager kacab-02 already exists" in capsys.readouterr().err
