"""``bilik evidence verify`` and ``bilik evidence public-key``, and the branch's key file."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from bilik.cli import main
from bilik.evidence import bundle, keys
from bilik.evidence.cli import EXIT_INVALID

from .claims import make_claim


def test_the_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    key = keys.load_or_create(tmp_path)
    assert stat.S_IMODE(keys.key_path(tmp_path).stat().st_mode) == 0o600
    assert keys.key_id(keys.load_or_create(tmp_path)) == keys.key_id(key)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    keys.load_or_create(tmp_path)
    os.chmod(keys.key_path(tmp_path), 0o644)
    with pytest.raises(keys.KeyFileError, match=r"readable by others \(mode 0644\); run chmod"):
        keys.load_or_create(tmp_path)


def test_public_key_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = keys.load_or_create(tmp_path / "server")
    assert main(["evidence", "public-key", "--data-dir", str(tmp_path / "server")]) == 0
    pem = capsys.readouterr().out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "branch.pem").write_text(pem)
    target = tmp_path / "b.zip"
    bundle.write(make_claim(tmp_path), key, target)
    assert main(["evidence", "verify", str(target), "--public-key",
                 str(tmp_path / "branch.pem")]) == 0
    assert "valid: claim KLM-20261207-0A1B2C3D of branch kc-01" in capsys.readouterr().out

    with zipfile.ZipFile(target) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["readings.json"] = b"[]"
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert main(["evidence", "verify", str(target), "--public-key",
                 str(tmp_path / "branch.pem")]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "NOT VALID" in out and "  - readings.json: content differs from the manifest" in out


def test_public_key_without_a_key_says_why(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "public-key", "--data-dir", str(tmp_path)]) == 1
    assert "the branch server makes it at its first start" in capsys.readouterr().err


def test_a_bad_public_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "k.pem").write_text("nonsense")
    (tmp_path / "b.zip").write_bytes(b"")
    assert main(["evidence", "verify", str(tmp_path / "b.zip"), "--public-key",
                 str(tmp_path / "k.pem")]) == 1
    assert "is not a PEM public key" in capsys.readouterr().err


def test_verify_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    key = keys.load_or_create(tmp_path / "server")
    target = tmp_path / "b.zip"
    bundle.write(make_claim(tmp_path), key, target)
    assert main(["evidence", "verify", str(target), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] and result["key_given"] is False
    target.write_bytes(b"junk")
    assert main(["evidence", "verify", str(target), "--json"]) == EXIT_INVALID
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False and result["problems"][0].startswith("not an evidence")
