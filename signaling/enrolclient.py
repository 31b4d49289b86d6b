"""The device's side of enrolment: ``bilik booth enroll CODE`` (and hub, kiosk, display).

The device makes its own key (it never leaves the device), sends the one-time code and a
certificate request to the branch server over TLS (verified against ``ca_file``), and
writes the certificate it gets back to ``cert_file`` and the key to ``key_file`` (0600).
From then on :func:`bilik.tls.client_context` presents them on every connection.
"""

from __future__ import annotations

import argparse
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bilik import tls
from bilik.errors import ConfigError
from signaling import limits
from signaling.ca import write_private, write_public
from signaling.errors import EnrolmentRefused

ENROL_PATH = "/api/enrol"


@dataclass(frozen=True)
class Enrolled:
    device_id: str
    role: str
    cert_file: Path
    key_file: Path


def _files(settings: tls.TlsSettings, section: str) -> tuple[Path, Path, Path]:
    missing = [name for name in ("ca_file", "cert_file", "key_file")
               if getattr(settings, name) is None]
    if missing:
        raise ConfigError(f"{section}.{missing[0]}",
                          "enrolment needs ca_file (the branch CA), cert_file and key_file "
                          "(where this device keeps its certificate and key)")
    assert settings.ca_file and settings.cert_file and settings.key_file
    return settings.ca_file, settings.cert_file, settings.key_file


async def enrol(server_url: str, code: str, role: str, settings: tls.TlsSettings,
                section: str) -> Enrolled:
    """Enrol this device; raises :class:`EnrolmentRefused` with the server's reason."""
    ca_file, cert_file, key_file = _files(settings, section)
    if not server_url.startswith("wss://"):
        raise ConfigError(f"{section}.server", "enrolment runs over TLS only: give a wss:// "
                          f"server URL, not {server_url!r}")
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(str(ca_file), f"cannot load the branch CA certificate: {exc}") from None
    context.minimum_version = tls.MINIMUM_VERSION
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{role}-enrolling")]))
           .sign(key, hashes.SHA256()))
    body = {"code": code.strip(), "role": role,
            "csr": csr.public_bytes(serialization.Encoding.PEM).decode("ascii")}
    url = tls.http_url(server_url) + ENROL_PATH
    timeout = aiohttp.ClientTimeout(total=limits.REQUEST_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.post(
                url, json=body, ssl=context) as response:
            try:
                reply: Any = await response.json(content_type=None)
            except ValueError:
                reply = {}
            status = response.status
    except aiohttp.ClientConnectorCertificateError as exc:
        raise EnrolmentRefused(
            f"the server at {url} is not the one the branch CA vouches for: {exc}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise EnrolmentRefused(f"cannot reach {url}: {exc or type(exc).__name__}") from None
    if status != 200 or not isinstance(reply, dict) or "certificate" not in reply:
        detail = reply.get("detail") if isinstance(reply, dict) else None
        raise EnrolmentRefused(f"the branch server refused: {detail or f'HTTP {status}'}")
    write_private(key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    write_public(cert_file, str(reply["certificate"]).encode("ascii"))
    return Enrolled(str(reply.get("id", "")), str(reply.get("role", role)), cert_file, key_file)


def add_command(inner: Any, role: str, section: str,
                load_config: Callable[[argparse.Namespace], Any]) -> None:
    """``bilik ROLE enroll CODE`` on a role's command line (its config has TlsSettings)."""
    parser = inner.add_parser(
        "enroll", help="enrol this device once with a one-time code from the server",
        description=f"Enrol this {role} with the code printed by `bilik server enroll --role "
        f"{role} --id ID`: makes this device's key, gets its certificate from the branch CA "
        "and writes both to cert_file and key_file (ca_file, cert_file and key_file come "
        f"from the [{section}] settings or the flags).")
    parser.add_argument("code", metavar="CODE", help="the one-time code, e.g. K7PQ-M2XD-4HTA-ZB6W")
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help=f"{section}.toml (section [{section}])")
    parser.add_argument("--server", default=argparse.SUPPRESS,
                        help="branch server URL, e.g. wss://10.0.0.2:8765/ws")
    for flag, help_text in (("--ca-file", "the branch CA certificate (ca.pem)"),
                            ("--cert-file", "where to write this device's certificate"),
                            ("--key-file", "where to write this device's key (0600)")):
        parser.add_argument(flag, type=Path, default=argparse.SUPPRESS, help=help_text)
    parser.set_defaults(func=lambda args: _run(args, role, section, load_config))


def _run(args: argparse.Namespace, role: str, section: str,
         load_config: Callable[[argparse.Namespace], Any]) -> int:
    import asyncio

    config = load_config(args)
    done = asyncio.run(enrol(config.server, args.code, role, config, section))
    print(f"enrolled as {done.device_id} ({done.role}): certificate {done.cert_file}, "
          f"key {done.key_file}")
    return 0
