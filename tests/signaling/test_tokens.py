"""Device credentials: issue, verify, and every way a token can be wrong; the branch secret."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from signaling import limits, tokens
from signaling.errors import StoreError, TokenExpired, TokenMalformed, TokenSignatureInvalid
from signaling.protocol import Role

SECRET = bytes(range(32))
NOW = 1_800_000_000.0


def _payload(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    result: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return result


def test_issued_token_verifies_to_its_grant() -> None:
    token = tokens.issue(SECRET, "booth-01", "booth", now=NOW, ttl_s=3600)
    assert token.startswith("bk1.") and token.count(".") == 2
    grant = tokens.verify(SECRET, token, now=NOW + 10)
    assert grant.device_id == "booth-01"
    assert grant.role is Role.BOOTH
    assert grant.issued_at == NOW and grant.expires_at == NOW + 3600
    assert grant.token_id
    assert _payload(token)["sub"] == "booth-01"


def test_two_tokens_for_one_device_differ() -> None:
    a = tokens.issue(SECRET, "hub-01", Role.HUB, now=NOW, ttl_s=60)
    b = tokens.issue(SECRET, "hub-01", Role.HUB, now=NOW, ttl_s=60)
    assert a != b


def test_token_signed_with_another_secret_is_refused() -> None:
    token = tokens.issue(bytes(32), "booth-01", "booth", now=NOW, ttl_s=3600)
    with pytest.raises(TokenSignatureInvalid, match="does not match this branch's secret"):
        tokens.verify(SECRET, token, now=NOW)


def test_forged_payload_with_the_old_signature_is_refused() -> None:
    # Turning a booth token into a hub token by editing the payload breaks the signature.
    token = tokens.issue(SECRET, "booth-01", "booth", now=NOW, ttl_s=3600)
    prefix, _, sig = token.split(".")
    forged = dict(_payload(token), role="hub")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenSignatureInvalid):
        tokens.verify(SECRET, f"{prefix}.{body}.{sig}", now=NOW)


def test_expired_token_is_refused_and_says_since_when() -> None:
    token = tokens.issue(SECRET, "booth-01", "booth", now=NOW, ttl_s=60)
    assert tokens.verify(SECRET, token, now=NOW + 59).device_id == "booth-01"
    with pytest.raises(TokenExpired, match=r"booth-01 expired 40 s ago"):
        tokens.verify(SECRET, token, now=NOW + 100)


def test_token_from_the_future_is_refused_beyond_the_clock_skew() -> None:
    token = tokens.issue(SECRET, "booth-01", "booth", now=NOW + 2 * limits.CLOCK_SKEW_S,
                         ttl_s=3600)
    with pytest.raises(TokenMalformed, match="issued in the future"):
        tokens.verify(SECRET, token, now=NOW)
    skewed = tokens.issue(SECRET, "booth-01", "booth", now=NOW + limits.CLOCK_SKEW_S / 2,
                          ttl_s=3600)
    assert tokens.verify(SECRET, skewed, now=NOW).device_id == "booth-01"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "bk1",
        "bk1.abc",
        "bk2.abc.def",
        "bk1.abc.def.ghi",
        "x" * (limits.MAX_TOKEN_CHARS + 1),
        "bk1.\u00e9t\u00e9.sig",
        "bk1.abc.\ud800",
    ],
    ids=["empty", "prefix-only", "two-parts", "wrong-prefix", "four-parts", "too-long",
         "non-ascii", "surrogate"],
)
def test_malformed_tokens_raise_token_malformed_or_bad_signature(token: str) -> None:
    with pytest.raises((TokenMalformed, TokenSignatureInvalid)):
        tokens.verify(SECRET, token, now=NOW)


def test_signed_payload_that_is_not_a_grant_is_malformed() -> None:
    # Only the secret's holder could sign these; the server must still not crash on them.
    for payload in (b"[1]", b"not json", b'{"sub":"booth-01"}', b'{"sub":"BAD ID","role":"booth",'
                    b'"iat":0,"exp":9e9}'):
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        signed = f"bk1.{body}"
        with pytest.raises(TokenMalformed):
            tokens.verify(SECRET, f"{signed}.{tokens._sign(SECRET, signed)}", now=NOW)


@pytest.mark.parametrize("device_id", ["Booth-01", "booth 01", "", "-booth", "b" * 65])
def test_issue_refuses_invalid_device_ids(device_id: str) -> None:
    with pytest.raises(ValueError, match="device id"):
        tokens.issue(SECRET, device_id, "booth", now=NOW, ttl_s=60)


def test_issue_refuses_unknown_role_and_non_positive_lifetime() -> None:
    with pytest.raises(ValueError):
        tokens.issue(SECRET, "booth-01", "janitor", now=NOW, ttl_s=60)
    with pytest.raises(ValueError, match="lifetime"):
        tokens.issue(SECRET, "booth-01", "booth", now=NOW, ttl_s=0)


def test_secret_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    data = tmp_path / "server"
    secret = tokens.load_or_create_secret(data)
    path = data / tokens.SECRET_FILE
    assert len(secret) == tokens.SECRET_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.load_or_create_secret(data) == secret  # second start reads the same one
    other = tokens.load_or_create_secret(tmp_path / "elsewhere")
    assert other != secret


def test_damaged_secret_is_a_clear_store_error(tmp_path: Path) -> None:
    (tmp_path / tokens.SECRET_FILE).write_bytes(b"short")
    with pytest.raises(StoreError, match="damaged: expected 32 bytes, found 5"):
        tokens.load_or_create_secret(tmp_path)


def test_data_dir_under_a_regular_file_is_a_clear_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot use data directory"):
        tokens.load_or_create_secret(blocker / "server")
