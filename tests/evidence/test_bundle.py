"""Evidence bundles: a bundle made by the branch verifies; every kind of tampering is caught
with a sentence that says what is wrong."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bilik.evidence import bundle, keys
from bilik.evidence.errors import BundleInvalid

from .claims import JPEG, JPEG2, WEBM, make_claim

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def made(tmp_path: Path) -> Path:
    target = tmp_path / "bundle.zip"
    bundle.write(make_claim(tmp_path), KEY, target)
    return target


def problems(path: Path, key: Ed25519PrivateKey | None = KEY) -> list[str]:
    with pytest.raises(BundleInvalid) as failed:
        bundle.verify(path, key.public_key() if key else None)
    return failed.value.problems


def rewrite(path: Path, replace: dict[str, bytes | None], order: list[str] | None = None) -> None:
    """Rewrite the zip with some members replaced (None: dropped), keeping the others."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for name, data in replace.items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    with zipfile.ZipFile(path, "w") as zf:
        for name in order or list(members):
            zf.writestr(name, members[name])


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def test_a_fresh_bundle_verifies_with_the_branch_key(made: Path) -> None:
    result = bundle.verify(made, KEY.public_key())
    assert result.reference == "KLM-20261207-0A1B2C3D" and result.branch == "kc-01"
    assert result.key_given and result.key_id == keys.key_id(KEY)
    with zipfile.ZipFile(made) as zf:
        names = set(zf.namelist())
    assert {"manifest.json", "signature", "decision.json", "documents.json", "readings.json",
            "audit.jsonl", "consent.json", "recording/r-00000000000000b1.webm",
            "documents/d-00000000000000a1.jpg"} <= names
    assert member(made, "recording/r-00000000000000b1.webm") == WEBM
    decision = json.loads(member(made, "decision.json"))
    assert decision["claim"] == {"nik": "3171234506780001", "name": "Siti Rahayu",
                                 "bank": "BRI", "account": "1234567890"}


def test_consent_and_recording_are_optional(tmp_path: Path) -> None:
    target = tmp_path / "b.zip"
    bundle.write(make_claim(tmp_path, consent=False, recording=False), KEY, target)
    bundle.verify(target, KEY.public_key())
    with zipfile.ZipFile(target) as zf:
        assert not any(n.startswith(("consent", "recording")) for n in zf.namelist())


def test_a_flipped_byte_in_a_document_is_caught(made: Path) -> None:
    raw = bytearray(made.read_bytes())
    at = raw.index(JPEG[:20]) + 100
    raw[at] ^= 0x01
    made.write_bytes(bytes(raw))
    found = problems(made)
    assert any(p.startswith("documents/d-00000000000000a1.jpg: its bytes were altered")
               for p in found), found


def test_a_dropped_audit_entry_is_caught(made: Path) -> None:
    lines = member(made, "audit.jsonl").splitlines(keepends=True)
    rewrite(made, {"audit.jsonl": b"".join(lines[:2] + lines[3:])})
    found = problems(made)
    assert "audit entry 3 (seq 13): an entry before it is missing (the chain is broken)" in found
    assert "the audit log has 4 entries, the signed manifest says 5" in found
    assert any(p.startswith("audit.jsonl: content differs from the manifest") for p in found)


def test_a_dropped_last_audit_entry_is_caught(made: Path) -> None:
    lines = member(made, "audit.jsonl").splitlines(keepends=True)
    rewrite(made, {"audit.jsonl": b"".join(lines[:-1])})
    assert "the audit log has 4 entries, the signed manifest says 5" in problems(made)


def test_reordered_audit_entries_are_caught(made: Path) -> None:
    lines = member(made, "audit.jsonl").splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    rewrite(made, {"audit.jsonl": b"".join(lines)})
    found = problems(made)
    assert ("audit entry 2 (seq 12) is out of order: it was written after seq 11, but follows "
            "seq 10") in found


def test_an_edited_audit_entry_is_caught(made: Path) -> None:
    lines = member(made, "audit.jsonl").splitlines(keepends=True)
    entry = json.loads(lines[4])
    entry["actor"] = "officer-99"
    lines[4] = json.dumps(entry).encode() + b"\n"
    rewrite(made, {"audit.jsonl": b"".join(lines)})
    assert "audit entry 5 (seq 14) was altered: its content does not match its hash" in problems(
        made)


def test_a_swapped_document_is_caught(made: Path) -> None:
    rewrite(made, {"documents/d-00000000000000a1.jpg": JPEG2})
    found = problems(made)
    assert any(p.startswith("documents/d-00000000000000a1.jpg: content differs from the "
                            "manifest") for p in found), found
    assert any(p.startswith("documents/d-00000000000000a1.jpg is not document "
                            "d-00000000000000a1 as the branch recorded it") for p in found)
    assert JPEG != JPEG2


def test_a_dropped_or_added_file_is_caught(made: Path) -> None:
    rewrite(made, {"consent.json": None, "extra.txt": b"hello"})
    found = problems(made)
    assert "consent.json is listed in the manifest but missing from the bundle" in found
    assert "extra.txt is in the bundle but not in the manifest" in found


def test_the_wrong_key_is_named(made: Path) -> None:
    other = Ed25519PrivateKey.generate()
    found = problems(made, other)
    assert len(found) == 1
    assert found[0].startswith(f"signed by key {keys.key_id(KEY)[:12]}…, not by the given key "
                               f"{keys.key_id(other)[:12]}…")


def test_an_edited_manifest_breaks_the_signature(made: Path) -> None:
    manifest = json.loads(member(made, "manifest.json"))
    manifest["reference"] = "KLM-20261207-FFFFFFFF"
    rewrite(made, {"manifest.json": json.dumps(manifest).encode()})
    found = problems(made)
    assert found[0].startswith("the signature does not match manifest.json")
    assert any("genesis" in p for p in found)  # the chain belongs to the other reference


def test_a_forgery_resigned_with_its_own_key_passes_only_without_the_branch_key(
        tmp_path: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    target = tmp_path / "forged.zip"
    bundle.write(make_claim(tmp_path), forger, target)
    bundle.verify(target)  # consistent in itself...
    assert problems(target, KEY)[0].startswith("signed by key")  # ...but not the branch's


def test_not_a_bundle_at_all(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip" * 10)
    assert problems(junk)[0].startswith("not an evidence bundle: not a readable zip file")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "hi")
    assert problems(empty) == ["no manifest.json: this is not an evidence bundle"]


def test_a_missing_signature(made: Path) -> None:
    rewrite(made, {"signature": None})
    assert problems(made) == ["the bundle is not signed (no signature file)"]


def test_jpeg_fixture_is_a_jpeg() -> None:
    assert JPEG.startswith(b"\xff\xd8\xff")


def test_a_member_name_that_could_escape_is_named(made: Path) -> None:
    rewrite(made, {"../../etc/passwd": b"x"})
    found = problems(made)
    assert "'../../etc/passwd' is not an allowed file name in a bundle" in found
