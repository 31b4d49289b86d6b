"""The device connection settings every agent has, and their command-line flags, once.

Each agent's config (``BoothConfig``, ``HubConfig``, ``KioskConfig``, ``DisplayConfig``)
extends :class:`DeviceSettings`; each agent's CLI adds the same four flags with
:func:`add_connection_flags` and hands them to :func:`bilik.config.load` with
:func:`connection_overrides`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bilik.config import setting

DEFAULT_SERVER = "ws://127.0.0.1:8765/ws"
CONNECTION_SETTINGS = ("server", "token", "token_file", "id")


@dataclass(frozen=True)
class DeviceSettings:
    server: str = setting(DEFAULT_SERVER, "WebSocket URL of the branch server")
    token: str | None = setting(
        None, "Device token (prefer token_file: a token in a file stays out of `ps`)"
    )
    token_file: Path | None = setting(None, "File holding the device token")
    id: str | None = setting(
        None, "Expected device id; the agent refuses to run if its token names another device"
    )


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """``--server``, ``--token``, ``--token-file`` and ``--id``, for any agent's parser."""
    parser.add_argument("--server", help="branch server WebSocket URL, e.g. ws://10.0.0.2:8765/ws")
    parser.add_argument("--token", help="device token (prefer --token-file)")
    parser.add_argument("--token-file", type=Path, help="file holding the device token")
    parser.add_argument("--id", help="expected device id (checked against the token)")


def connection_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The connection flags as overrides for :func:`bilik.config.load` (unset: None)."""
    return {name: getattr(args, name, None) for name in CONNECTION_SETTINGS}
