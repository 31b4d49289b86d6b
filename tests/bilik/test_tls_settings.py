"""Every device's TLS settings: plain ws:// refused without the development switch, a
wss:// server only with the branch CA, private keys readable by their owner only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bilik.agent.settings import DeviceSettings
from bilik.cli import main
from bilik.errors import ConfigError
from bilik.tls import check_url, client_context
from signaling import ca


@pytest.mark.parametrize("role", ["booth", "hub", "kiosk", "display"])
def test_every_device_refuses_a_plain_url_without_the_development_switch(
        role: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(f"BILIK_{role.upper()}_INSECURE_PLAINTEXT", raising=False)
    assert main([role, "--token", "x", "--server", "ws://127.0.0.1:9/ws"]) == 1
    err = capsys.readouterr().err
    assert "plain ws://" in err and "insecure_plaintext" in err and "Traceback" not in err
    assert main([role, "--token", "x", "--server", "wss://127.0.0.1:9/ws"]) == 1
    assert "ca_file" in capsys.readouterr().err


def test_the_switch_allows_plain_and_wss_needs_the_ca() -> None:
    check_url("ws://h:1/ws", DeviceSettings(insecure_plaintext=True), "booth")
    check_url("wss://h:1/ws", DeviceSettings(ca_file=Path("ca.pem")), "booth")
    with pytest.raises(ConfigError, match="must start with wss://"):
        check_url("http://h:1/", DeviceSettings(ca_file=Path("ca.pem")), "booth")


def test_a_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    files = ca.CaFiles(tmp_path / "ca")
    ca.init(files, branch="kc-01", names=["127.0.0.1"])
    files.server_key.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        ca.server_context(files)
    settings = DeviceSettings(ca_file=files.ca_cert, cert_file=files.server_cert,
                           key_file=files.server_key)
    with pytest.raises(ConfigError, match="readable by others"):
        client_context(settings)


def test_the_server_refuses_to_start_without_its_certificate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BILIK_SERVER_INSECURE_PLAINTEXT", raising=False)
    assert main(["server", "--data-dir", str(tmp_path), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "bilik server ca init" in err and "Traceback" not in err
