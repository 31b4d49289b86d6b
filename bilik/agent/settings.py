"""The device connection settings every agent has (the server, its credential, TLS), and
their command-line flags, once.

Each agent's config (``BoothConfig``, ``HubConfig``, ``KioskConfig``, ``DisplayConfig``)
extends :class:`DeviceSettings`; each agent's CLI adds the same flags with
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
CONNECTION_SETTINGS = ("server", "token", "token_file", "id", "ca_file", "cert_file",
                       "key_file", "insecure_plaintext")


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
    # TLS (bilik/tls.py, docs/security.md): the branch CA, and the device's own certificate.
    ca_file: Path | None = setting(
        None, "The branch CA's certificate (ca.pem from `bilik server ca init`); the server "
        "must prove itself with a certificate signed by it")
    cert_file: Path | None = setting(
        None, "This device's certificate, written by `bilik ROLE enroll CODE`; presented to "
        "the server, which takes the device's id and role from it")
    key_file: Path | None = setting(
        None, "This device's private key, made by `bilik ROLE enroll CODE` (mode 0600)")
    insecure_plaintext: bool = setting(
        False, "DEVELOPMENT ONLY: allow a ws:// server URL (PINs and documents in clear on "
        "the network); never on a branch")


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """``--server``, ``--token``, ``--token-file``, ``--id`` and the TLS flags (``--ca-file``,
    ``--cert-file``, ``--key-file``, ``--insecure-plaintext``), for any agent's parser."""
    parser.add_argument("--server", help="branch server WebSocket URL, e.g. ws://10.0.0.2:8765/ws")
    parser.add_argument("--token", help="device token (prefer --token-file)")
    parser.add_argument("--token-file", type=Path, help="file holding the device token")
    parser.add_argument("--id", help="expected device id (checked against the token)")
    parser.add_argument("--ca-file", type=Path, help="the branch CA certificate (ca.pem)")
    parser.add_argument("--cert-file", type=Path, help="this device's enrolled certificate")
    parser.add_argument("--key-file", type=Path, help="this device's private key (0600)")
    parser.add_argument("--insecure-plaintext", action="store_true", default=None,
                        help="DEVELOPMENT ONLY: allow a plain ws:// server URL")


def connection_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The connection flags as overrides for :func:`bilik.config.load` (unset: None)."""
    return {name: getattr(args, name, None) for name in CONNECTION_SETTINGS}
