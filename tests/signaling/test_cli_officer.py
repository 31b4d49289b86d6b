"""`bilik server officer add`: officers are added to the branch database from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bilik.cli import main
from signaling.officers import SignInResult, verify_officer
from signaling.store import DB_FILE, Store


def verify_officer_pin_offline(data: Path, officer: str, pin: str) -> bool:
    store = Store(data / DB_FILE)
    try:
        return verify_officer(store, officer, pin) is SignInResult.OK
    finally:
        store.close()


def test_an_officer_added_from_the_cli_can_be_verified(tmp_path: Path) -> None:
    data = tmp_path / "server"
    pin = tmp_path / "pin"
    pin.write_text("482913\n")
    assert main(["server", "officer", "add", "officer-07", "--name", "Budi",
                 "--pin-file", str(pin), "--data-dir", str(data)]) == 0
    assert verify_officer_pin_offline(data, "officer-07", "482913")
    assert not verify_officer_pin_offline(data, "officer-07", "000000")


def test_bad_pins_and_duplicates_get_one_clear_line(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "server"
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["server", "officer", "add", "officer-08", "--data-dir", str(data)]) == 1
    assert "PIN must be" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("5555\n"))
    assert main(["server", "officer", "add", "officer-08", "--data-dir", str(data)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("5555\n"))
    assert main(["server", "officer", "add", "officer-08", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err
