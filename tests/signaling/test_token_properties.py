"""Properties of credentials and ids (issue 15, defects 9 and 10).

- Whatever a signed payload holds, ``verify`` returns a grant that expires at a finite
  time after it was issued, or raises a ``TokenError``: never NaN or infinity that never
  expires, never ``OverflowError``.
- ``issue`` makes a token that is valid now and for as long as asked, or refuses.
- ``bilik server token --ttl-days`` refuses infinite, NaN and out-of-range lifetimes in one
  line.
- No id anywhere (tokens, hello, message ids, pairing ids, every pattern-checked field of
  every message) passes with a trailing newline; no pattern in the package ends with ``$``.
"""

from __future__ import annotations

import base64
import importlib
import json
import math
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signaling
from signaling import limits, tokens
from signaling import protocol as p
from signaling.errors import ProtocolError, TokenError
from signaling.protocol import Role
from tests.signaling.test_fuzz_roles import _baseline

SECRET = bytes(range(32))
NOW = 1_800_000_000.0

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([NOW, NOW + 3600, 0, -1, 2**63, 10**309, True, False]),
    st.text(max_size=5), st.none(),
)


def _signed(payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signed = f"bk1.{body}"
    return f"{signed}.{tokens._sign(SECRET, signed)}"


@settings(max_examples=400, deadline=None)
@given(iat=NUMBERS, exp=NUMBERS,
       sub=st.one_of(st.sampled_from(["booth-01", "booth-01\n", "", "B", "hub-01"]), st.text()),
       role=st.one_of(st.sampled_from([r.value for r in Role]), st.text(max_size=6)),
       jti=st.one_of(st.text(max_size=80), st.integers(), st.none()))
def test_verify_gives_a_finite_grant_or_a_token_error(
    iat: Any, exp: Any, sub: Any, role: Any, jti: Any,
) -> None:
    token = _signed({"sub": sub, "role": role, "iat": iat, "exp": exp, "jti": jti})
    if len(token) > limits.MAX_TOKEN_CHARS:
        return
    try:
        grant = tokens.verify(SECRET, token, now=NOW)
    except TokenError:
        return
    assert math.isfinite(grant.issued_at) and math.isfinite(grant.expires_at)
    assert grant.issued_at < grant.expires_at <= limits.MAX_TOKEN_TIME
    assert grant.expires_at > NOW
    assert p.DEVICE_ID_RE.fullmatch(grant.device_id) and not grant.device_id.endswith("\n")


@pytest.mark.parametrize("exp", [float("nan"), float("inf"), 10**400, 1e308])
@pytest.mark.parametrize("role", ["booth", "admin"])
def test_a_token_that_would_never_expire_is_malformed(exp: Any, role: str) -> None:
    token = _signed({"sub": "ops-1", "role": role, "iat": NOW, "exp": exp, "jti": "x"})
    with pytest.raises(TokenError):
        tokens.verify(SECRET, token, now=NOW)


@settings(max_examples=300, deadline=None)
@given(ttl=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                     st.integers(min_value=-(10**12), max_value=10**12)),
       now=st.floats(min_value=0, max_value=4e9))
def test_issue_makes_a_token_valid_for_as_long_as_asked_or_refuses(ttl: Any, now: float) -> None:
    try:
        token = tokens.issue(SECRET, "booth-01", "booth", now=now, ttl_s=ttl)
    except ValueError:
        assert not (limits.MIN_TOKEN_TTL_S <= ttl <= limits.MAX_TOKEN_TTL_S) or not math.isfinite(
            ttl)
        return
    grant = tokens.verify(SECRET, token, now=now)  # not expired when issued
    assert grant.expires_at - now >= ttl - 1
    with pytest.raises(TokenError):
        tokens.verify(SECRET, token, now=grant.expires_at)


@pytest.mark.parametrize("days", ["inf", "nan", "-1", "0", "0.0000001", "1e9", "ten"])
def test_token_command_refuses_a_bad_lifetime_in_one_line(tmp_path: Path, days: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bilik.cli", "server", "token", "--role", "booth", "--id",
         "booth-01", "--ttl-days", days, "--data-dir", str(tmp_path / "server")],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr and "--ttl-days" in out.stderr
    assert not out.stdout


# --- ids with a trailing newline --------------------------------------------------------


def test_no_pattern_of_the_package_can_be_ended_by_a_newline() -> None:
    """``$`` matches before a final newline; every anchored pattern must end with ``\\Z``."""
    found = 0
    for info in pkgutil.walk_packages(signaling.__path__, "signaling."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found += 1
                assert not value.pattern.endswith("$"), f"{info.name}.{name}: {value.pattern}"
    assert found >= 10


def test_issue_and_verify_refuse_a_device_id_with_a_newline() -> None:
    with pytest.raises(ValueError, match="device id"):
        tokens.issue(SECRET, "booth-01\n", "booth", now=NOW, ttl_s=3600)
    forged = _signed({"sub": "booth-01\n", "role": "booth", "iat": NOW, "exp": NOW + 60})
    with pytest.raises(TokenError):
        tokens.verify(SECRET, forged, now=NOW)


def test_every_pattern_checked_field_refuses_a_trailing_newline() -> None:
    checked = 0
    for type_, cls in p.MESSAGE_TYPES.items():
        sdp = {"sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\nm=audio 9 RTP/AVP 0\r\n"}
        base = {"v": 1, "type": type_, "id": "m-1", **_baseline(cls, sdp)}
        for spec in p._specs(cls):
            if spec.meta.get("pattern") is None:
                continue
            p.parse(json.dumps({**base, spec.name: "booth-01"}))  # the field without it passes
            with pytest.raises(ProtocolError, match=repr(spec.name)):
                p.parse(json.dumps({**base, spec.name: "booth-01\n"}))
            checked += 1
    assert checked >= 10
    with pytest.raises(ProtocolError, match="'id'"):
        p.parse(json.dumps({"v": 1, "type": "status", "id": "m-1\n", "state": "idle"}))
    with pytest.raises(ProtocolError, match="'ref'"):
        p.parse(json.dumps({"v": 1, "type": "status", "id": "m-1", "ref": "m-0\n",
                            "state": "idle"}))
