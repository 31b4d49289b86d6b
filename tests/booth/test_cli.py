"""``bilik booth`` from the command line: help, config, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bilik.agent.token import read_token
from bilik.cli import main
from bilik.errors import CredentialMissing


def test_help_names_the_essential_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["booth", "--help"])
    out = capsys.readouterr().out
    for flag in ("--server", "--token-file", "--id", "--config", "--source", "make-replay"):
        assert flag in out


def test_config_prints_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["booth", "config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[booth]")
    assert "BILIK_BOOTH_TOKEN_FILE" in out and "fps = 15" in out


def test_tokens_come_from_the_flag_or_the_file(tmp_path: Path) -> None:
    assert read_token("bk1.a.b", None, "booth") == "bk1.a.b"
    f = tmp_path / "t"
    f.write_text("  bk1.x.y\n")
    assert read_token(None, f, "booth") == "bk1.x.y"


@pytest.mark.parametrize("content", [None, "", "   \n"])
def test_missing_or_empty_token_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    f = tmp_path / "token"
    if content is not None:
        f.write_text(content)
    with pytest.raises(CredentialMissing):
        read_token(None, f, "booth")
    assert main(["booth", "--token-file", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bilik booth: error:") and str(f) in err
    assert "Traceback" not in err


def test_bad_settings_name_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["booth", "--token", "x", "--fps", "0"]) == 1
    assert "--fps" in capsys.readouterr().err
    monkeypatch.setenv("BILIK_BOOTH_SOURCE", "webcam")
    assert main(["booth", "--token", "x"]) == 1
    assert "BILIK_BOOTH_SOURCE" in capsys.readouterr().err


def test_replay_without_a_file_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["booth", "--token", "x", "--source", "replay"]) == 1
    assert "replay_file" in capsys.readouterr().err


def test_the_booth_devices_and_flow_come_from_flags(tmp_path: Path) -> None:
    import argparse

    from booth.cli import load_config, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(), "booth")
    args = parser.parse_args([
        "booth", "--flow", "ticket", "--printer", "tcp:10.0.0.9", "--reader", "/dev/ttyACM0",
        "--document-camera", "2", "--screen", str(tmp_path), "--data-dir", str(tmp_path / "d"),
    ])
    config = load_config(args)
    assert (config.flow, config.printer, config.reader, config.document_camera) == (
        "ticket", "tcp:10.0.0.9", "/dev/ttyACM0", "2")
    assert config.screen == str(tmp_path) and config.data_dir == tmp_path / "d"
    with pytest.raises(SystemExit):
        parser.parse_args(["booth", "--flow", "walk-in"])
