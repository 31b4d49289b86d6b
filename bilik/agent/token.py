"""A device's own token, from its setting or its file (the branch server mints and verifies
tokens: ``signaling/tokens.py``)."""

from __future__ import annotations

from pathlib import Path

from bilik import tls
from bilik.errors import CredentialMissing


def read_token(token: str | None, token_file: Path | None, section: str) -> str:
    """The token of the agent configured in ``[section]`` (booth, hub, kiosk, display).

    The file wins over the setting. Raises :class:`CredentialMissing` with one clear line
    when there is none to be had.
    """
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialMissing(
                f"cannot read token file {token_file}: {exc.strerror or exc}"
            ) from None
        if not token:
            raise CredentialMissing(f"token file {token_file} is empty")
    if not token:
        raise CredentialMissing(
            f"no device token: give --token-file (or --token, BILIK_{section.upper()}_TOKEN)"
        )
    return token


def device_credential(settings: tls.TlsSettings, token: str | None,
                      token_file: Path | None, server: str, section: str) -> str:
    """The token to say hello with: none for an enrolled device (its certificate speaks for
    it), else its token. Then the server URL: plain ws:// only with the development switch."""
    credential = "" if tls.has_certificate(settings) else read_token(token, token_file, section)
    tls.check_url(server, settings, section)
    return credential
