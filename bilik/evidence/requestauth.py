"""Requests from a branch to the head office, signed with the branch's evidence key (pure).

Each request carries the branch id, the time and an Ed25519 signature of
``METHOD\\nPATH?QUERY\\nTIME\\nBRANCH``; the head office checks it against the branch's
registered public key and refuses a time further than :data:`MAX_SKEW_S` from its own. The
body of an upload is not covered: the bundle inside it is signed itself and verified before
it is acknowledged.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bilik.evidence import keys
from bilik.evidence.errors import EvidenceError

BRANCH = "X-Bilik-Branch"
TIME = "X-Bilik-Time"
SIGNATURE = "X-Bilik-Signature"
MAX_SKEW_S = 300.0


class RequestRefused(EvidenceError):
    """A signed request is malformed, too old, or not signed by the branch it names."""


def _message(method: str, path_qs: str, at: str, branch: str) -> bytes:
    return f"{method.upper()}\n{path_qs}\n{at}\n{branch}".encode()


def sign(key: Ed25519PrivateKey, branch: str, method: str, path_qs: str,
         now: float) -> dict[str, str]:
    at = f"{now:.3f}"
    signature = key.sign(_message(method, path_qs, at, branch))
    return {BRANCH: branch, TIME: at, SIGNATURE: base64.b64encode(signature).decode()}


def claimed_branch(headers: Mapping[str, str]) -> str:
    branch = headers.get(BRANCH, "")
    if not branch:
        raise RequestRefused(f"the request is not signed: no {BRANCH} header")
    return branch


def check(headers: Mapping[str, str], method: str, path_qs: str, key: Ed25519PublicKey,
          now: float) -> None:
    """Raise :class:`RequestRefused` unless the headers sign this request with ``key``."""
    branch = claimed_branch(headers)
    at = headers.get(TIME, "")
    try:
        when = float(at)
        signature = base64.b64decode(headers.get(SIGNATURE, ""), validate=True)
    except (ValueError, binascii.Error):
        raise RequestRefused(f"{TIME} must be a number and {SIGNATURE} base64") from None
    if not math.isfinite(when) or abs(now - when) > MAX_SKEW_S:
        raise RequestRefused(f"the request's time is {when - now:+.0f} s from the head office's "
                             f"clock (at most {MAX_SKEW_S:.0f} s allowed): check the branch "
                             "server's clock")
    if not keys.verify(key, signature, _message(method, path_qs, at, branch)):
        raise RequestRefused(f"the request is not signed by branch {branch}'s registered key")
