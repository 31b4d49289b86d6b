"""Device credentials: small signed grants (device id, role, expiry), issued and verified here.

A token is ``bk1.<payload>.<signature>``: the payload is base64url JSON
``{"sub": device id, "role": ..., "iat": issued at, "exp": expires at, "jti": random id}``
and the signature an HMAC-SHA256 over ``bk1.<payload>`` with the branch's secret.
The secret is created in the data directory on first start (see :func:`load_or_create_secret`).
An agent reads its own token with :func:`bilik.agent.token.read_token`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from signaling import limits
from signaling.errors import (
    StoreError,
    TokenExpired,
    TokenMalformed,
    TokenSignatureInvalid,
)
from signaling.protocol import DEVICE_ID_RE, Role

PREFIX = "bk1"
SECRET_FILE = "secret.key"
SECRET_BYTES = 32


@dataclass(frozen=True)
class Grant:
    """What a verified token says about its bearer."""

    device_id: str
    role: Role
    issued_at: float
    expires_at: float
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signed_part: str) -> str:
    return _b64(hmac.new(secret, signed_part.encode("ascii"), hashlib.sha256).digest())


def issue(
    secret: bytes, device_id: str, role: Role | str, *, now: float, ttl_s: float
) -> str:
    """Sign a grant for ``device_id`` acting as ``role``, valid for ``ttl_s`` seconds."""
    if not isinstance(device_id, str) or not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(
            f"device id {device_id!r} must be 1-64 lowercase letters, digits or ._- "
            "and start with a letter or digit"
        )
    role = Role(role)
    if not isinstance(ttl_s, int | float) or not math.isfinite(ttl_s) or not (
            limits.MIN_TOKEN_TTL_S <= ttl_s <= limits.MAX_TOKEN_TTL_S):
        raise ValueError(
            f"token lifetime must be between {limits.MIN_TOKEN_TTL_S:g} s and "
            f"{limits.MAX_TOKEN_TTL_S / 86400:g} days, got {ttl_s!r} s")
    if not math.isfinite(now) or not 0 <= now <= limits.MAX_TOKEN_TIME - ttl_s:
        raise ValueError(f"issuing time {now!r} is not a usable clock reading")
    payload = {
        "sub": device_id,
        "role": role.value,
        "iat": int(now),
        "exp": math.ceil(now + ttl_s),
        "jti": secrets.token_hex(8),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signed = f"{PREFIX}.{body}"
    return f"{signed}.{_sign(secret, signed)}"


def verify(secret: bytes, token: str, *, now: float) -> Grant:
    """Check signature and expiry; raise a specific :class:`TokenError` subclass if not valid."""
    if not isinstance(token, str) or len(token) > limits.MAX_TOKEN_CHARS:
        raise TokenMalformed("token is not a string of acceptable length")
    if not token.isascii():  # hmac.compare_digest and the signer reject non-ASCII str
        raise TokenMalformed("token must be ASCII text")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenMalformed(f"token must have the form {PREFIX}.<payload>.<signature>")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(secret, signed), parts[2]):
        raise TokenSignatureInvalid("token signature does not match this branch's secret")
    try:
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, binascii.Error, RecursionError):
        raise TokenMalformed("token payload is not base64url JSON") from None
    if not isinstance(payload, dict):
        raise TokenMalformed("token payload must be an object")
    device_id = payload.get("sub")
    if not isinstance(device_id, str) or not DEVICE_ID_RE.fullmatch(device_id):
        raise TokenMalformed("token subject is not a valid device id")
    try:
        role = Role(str(payload.get("role")))
    except ValueError:
        raise TokenMalformed("token role is not one of "
                             + ", ".join(r.value for r in Role)) from None
    iat, exp = _time_field(payload, "iat"), _time_field(payload, "exp")
    jti = payload.get("jti", "")
    if not isinstance(jti, str) or len(jti) > limits.MAX_ID_CHARS:
        raise TokenMalformed("token id (jti) must be a short string")
    if exp <= iat:
        raise TokenMalformed("token expires before it was issued")
    if now >= exp:
        raise TokenExpired(f"token for {device_id} expired {int(now - exp)} s ago")
    if iat > now + limits.CLOCK_SKEW_S:
        raise TokenMalformed("token was issued in the future; check the branch server's clock")
    return Grant(device_id, role, iat, exp, jti)


def _time_field(payload: dict[str, object], name: str) -> float:
    """``iat``/``exp``: a finite number of epoch seconds between 1970 and the year 9999.

    NaN compares false with everything (it would never expire), infinity never expires and
    a huge integer overflows a float: each is malformed, not a long-lived grant."""
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenMalformed(f"token field {name!r} must be a number of seconds")
    if not (isinstance(value, int) or math.isfinite(value)) or not (
            0 <= value <= limits.MAX_TOKEN_TIME):
        raise TokenMalformed(f"token field {name!r} is not a time between 1970 and 9999")
    return float(value)


def load_or_create_secret(data_dir: Path) -> bytes:
    """Read the branch secret, creating it (mode 0600) on first start."""
    path = data_dir / SECRET_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(SECRET_BYTES))
                fh.flush()
                os.fsync(fh.fileno())
        secret = path.read_bytes()
    except FileExistsError:  # created concurrently by another process: read theirs
        secret = path.read_bytes()
    except PermissionError as exc:
        raise StoreError(f"data directory {data_dir} is not writable: {exc.strerror}") from None
    except OSError as exc:
        raise StoreError(f"cannot use data directory {data_dir}: {exc.strerror or exc}") from None
    if len(secret) < SECRET_BYTES:
        raise StoreError(f"{path} is damaged: expected {SECRET_BYTES} bytes, found {len(secret)}")
    return secret

