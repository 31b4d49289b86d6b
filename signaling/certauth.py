"""Who a device is: its certificate (mutual TLS) first, the bearer token only for migration.

A device that presented a certificate verified against the branch CA *is* the subject of
that certificate: ``CN`` its id, ``OU`` its role. A token it also sends must name the
same id, else it is refused (a booth's certificate with a hub's token is not a hub).
Without a certificate, the old bearer token is accepted while ``device_tokens`` is on
(the migration path, docs/security.md). Either way the revocation list is checked.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from signaling import ca, tokens
from signaling.errors import CertificateError, CredentialRevoked, TokenError, TokenMalformed
from signaling.policy import DEVICE_ROLES
from signaling.revocationlist import CERT_PREFIX, Revocations

if TYPE_CHECKING:
    from aiohttp import web

    from signaling.config import ServerConfig


class Verifier(Protocol):
    """What identifying a device needs of the server."""

    config: ServerConfig
    secret: bytes
    clock: Callable[[], float]
    revocations: Revocations


def certificate_grant(transport: asyncio.BaseTransport | None) -> tokens.Grant | None:
    """The grant a verified client certificate carries, or None if none was presented."""
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        identity = ca.identity_of(der)
    except CertificateError as exc:
        raise TokenMalformed(str(exc)) from None
    return tokens.Grant(identity.device_id, identity.role, identity.not_before,
                        identity.not_after, f"{CERT_PREFIX}{identity.serial:x}")


def identify(server: Verifier, transport: asyncio.BaseTransport | None,
             token: str | None) -> tokens.Grant:
    """The device's grant; raises a :class:`TokenError` (or :class:`CredentialRevoked`)."""
    grant = certificate_grant(transport)
    if grant is not None:
        if token:
            try:
                claimed = tokens.verify(server.secret, token, now=server.clock())
            except TokenError:
                claimed = None
            if claimed is None or claimed.device_id != grant.device_id or (
                    claimed.role is not grant.role):
                raise TokenError(
                    f"this connection's certificate is {grant.device_id} ({grant.role}); "
                    "a token naming another identity is refused")
    else:
        if not token:
            raise TokenMalformed("no certificate and no token: enrol this device first "
                                 "(`bilik ROLE enroll CODE`)")
        grant = tokens.verify(server.secret, token, now=server.clock())
        if grant.role in DEVICE_ROLES and not server.config.device_tokens:
            raise TokenError("this branch server accepts enrolled devices only: enrol with "
                             "`bilik ROLE enroll CODE` and connect with its certificate")
    reason = server.revocations.refusal(grant)
    if reason is not None:
        raise CredentialRevoked(reason)
    return grant


def request_grant(server: Verifier, request: web.Request) -> tokens.Grant:
    """Who makes an HTTP request: its certificate, else ``Authorization: Bearer``."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else None
    return identify(server, request.transport, token)
