"""The device-agent skeleton (bilik/agent/): the four agents take the same connection settings
and flags, declared once, and read their token the same way."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bilik.agent.settings import DeviceSettings
from bilik.agent.token import read_token
from bilik.cli import build_parser
from bilik.errors import CredentialMissing

AGENTS = [("booth", "booth.cli"), ("hub", "officer.cli"), ("kiosk", "frontdesk.kiosk_cli"),
          ("display", "frontdesk.queue_display_cli")]


@pytest.mark.parametrize(("role", "module"), AGENTS)
def test_every_agent_takes_the_same_connection_flags(role: str, module: str,
                                                     tmp_path: Path) -> None:
    token = tmp_path / "device.token"
    token.write_text("bk1.payload.signature\n")
    argv = [role, "--server", "ws://10.0.0.2:8765/ws", "--token-file", str(token),
            "--id", f"{role}-07"]
    args = build_parser(argv).parse_args(argv)
    config = importlib.import_module(module).load_config(args)
    assert isinstance(config, DeviceSettings)
    assert (config.server, config.token_file, config.id) == (
        "ws://10.0.0.2:8765/ws", token, f"{role}-07")
    assert read_token(config.token, config.token_file, role) == "bk1.payload.signature"


@pytest.mark.parametrize(("role", "module"), AGENTS)
def test_without_a_token_every_agent_says_which_setting_to_give(role: str, module: str) -> None:
    args = build_parser([role]).parse_args([role])
    config = importlib.import_module(module).load_config(args)
    with pytest.raises(CredentialMissing, match=f"BILIK_{role.upper()}_TOKEN"):
        read_token(config.token, config.token_file, role)
