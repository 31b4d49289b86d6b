"""TLS on the branch network, the device's side (booth, hub, kiosk, display, demo, benches).

Every device verifies the branch server against the branch's own certificate authority
(``ca_file``, the ``ca.pem`` written by ``bilik server ca init``), never against the
system's public authorities: nobody else can mint a certificate the booths would trust.
Once enrolled (``bilik ROLE enroll CODE``), a device also presents its own certificate
(``cert_file``, ``key_file``) and the server takes its identity and role from it.

Plain ``ws://`` is refused unless ``insecure_plaintext`` is set: a development switch
for the media benches and the tests of other features, never for a branch. The settings
themselves are fields of the one device settings base (:mod:`bilik.agent.settings`).
"""

from __future__ import annotations

import ssl
import stat
from pathlib import Path
from typing import Protocol

from bilik.errors import ConfigError

# TLS 1.2 is the oldest version a branch device may speak (1.0 and 1.1 are broken).
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
# A private key readable by anyone but its owner is refused (group/other bits).
KEY_MODE_FORBIDDEN = 0o077


class TlsSettings(Protocol):
    """The TLS part of a device's connection settings (``DeviceSettings``)."""

    @property
    def ca_file(self) -> Path | None: ...

    @property
    def cert_file(self) -> Path | None: ...

    @property
    def key_file(self) -> Path | None: ...

    @property
    def insecure_plaintext(self) -> bool: ...


def check_url(url: str, settings: TlsSettings, section: str) -> None:
    """Refuse a plain URL unless the development switch is on, and wss:// without a CA."""
    if url.startswith("ws://") and not settings.insecure_plaintext:
        raise ConfigError(
            f"{section}.server",
            f"{url} is plain ws://: officers' PINs and documents would cross the network in "
            "clear. Use wss:// with ca_file (the branch CA), or set insecure_plaintext = true "
            "for development only")
    if url.startswith("wss://") and settings.ca_file is None:
        raise ConfigError(
            f"{section}.ca_file",
            "a wss:// server is verified against the branch CA: give ca_file (ca.pem from "
            "`bilik server ca init`)")
    if not url.startswith(("ws://", "wss://")):
        raise ConfigError(f"{section}.server", f"{url!r} must start with wss:// (or ws://)")


def has_certificate(settings: TlsSettings) -> bool:
    """Whether the device holds its enrolled certificate and key."""
    return (settings.cert_file is not None and settings.key_file is not None
            and settings.cert_file.exists() and settings.key_file.exists())


def check_key_file(path: Path) -> None:
    """A private key must be readable by its owner only (0600)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the key file: {exc.strerror or exc}") from None
    if mode & KEY_MODE_FORBIDDEN:
        raise ConfigError(
            str(path), f"private key is readable by others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}")


def client_context(settings: TlsSettings) -> ssl.SSLContext | None:
    """The context a device connects with: the branch CA, and its certificate if enrolled.

    ``None`` without a ``ca_file`` (a plain ws:// development setup)."""
    if settings.ca_file is None:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                             cafile=str(settings.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(str(settings.ca_file),
                          f"cannot load the branch CA certificate: {exc}") from None
    context.minimum_version = MINIMUM_VERSION
    if has_certificate(settings):
        assert settings.cert_file is not None and settings.key_file is not None
        check_key_file(settings.key_file)
        try:
            context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(str(settings.cert_file),
                              f"cannot load this device's certificate and key: {exc}") from None
    return context


def http_url(ws_url: str) -> str:
    """``wss://host:port/ws`` -> ``https://host:port`` (``ws`` -> ``http``)."""
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if ws_url.startswith(ws):
            base = ws_url[len(ws):].split("/", 1)[0]
            return f"{http}{base}"
    raise ConfigError("server", f"server URL must start with wss:// or ws://, not {ws_url!r}")
