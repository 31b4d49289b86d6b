"""Writing and verifying an evidence bundle: one zip file, its manifest signed with Ed25519.

Layout (docs/evidence.md)::

    manifest.json        format, branch, claim reference, signer, every file's size and
                         SHA-256, the audit chain's genesis, length and last hash
    signature            base64 Ed25519 signature of manifest.json's exact bytes
    decision.json        the decision with its claim data, the pairing and the case events
    documents.json       each document's and recording's record (kind, size, SHA-256, ...,
                         and "file": its name in the bundle, null when retention deleted it)
    documents/<id>.jpg   the documents' files, as uploaded
    readings.json        what OCR read from them
    audit.jsonl          the case's audit entries, hash-chained (bilik.evidence.chain)
    consent.json         optional: the participant's consent (wording version, time, answer)
    recording/<id>.webm  optional: the session's recording(s)

:func:`write` is used by the branch server, :func:`verify` by the head office and by
``bilik evidence verify``; verification collects every problem it finds, each one sentence.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bilik.evidence import chain, keys
from bilik.evidence.canonical import dumps
from bilik.evidence.errors import BundleInvalid
from bilik.evidence.limits import (
    AUDIT,
    FORMAT,
    HASH_CHUNK,
    MANIFEST,
    MAX_BUNDLE_BYTES,
    MAX_JSON_MEMBER_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_MEMBERS,
    SIGNATURE,
)

DECISION = "decision.json"
DOCUMENTS = "documents.json"
READINGS = "readings.json"
CONSENT = "consent.json"
REQUIRED = (DECISION, DOCUMENTS, READINGS, AUDIT)
RECORDING_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.(webm|mkv)\Z")
MEMBER_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,100}(/[A-Za-z0-9][A-Za-z0-9._-]{0,100})?\Z")
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


@dataclass(frozen=True)
class Document:
    record: dict[str, Any]  # id, kind, sha256, content_type, ... as the branch stored it
    path: Path | None  # its file (None, or a path that no longer exists: deleted by retention)


@dataclass(frozen=True)
class Claim:
    """Everything a bundle holds about one decided claim."""

    branch: str
    reference: str
    ticket: str
    created: float
    decision: dict[str, Any]
    documents: Sequence[Document] = ()
    readings: Sequence[dict[str, Any]] = ()
    audit: Sequence[dict[str, Any]] = ()  # seq, at, actor, action, subject, detail; in order
    consent: dict[str, Any] | None = None
    recordings: Sequence[Document] = ()  # the session's recordings (uploaded like documents)


@dataclass(frozen=True)
class Verified:
    manifest: dict[str, Any]
    key_id: str
    key_given: bool  # checked against a key the caller trusts (else the bundle's own key)
    files: int = 0

    @property
    def branch(self) -> str:
        return str(self.manifest["branch"])

    @property
    def reference(self) -> str:
        return str(self.manifest["reference"])


@dataclass
class _Writer:
    zf: zipfile.ZipFile
    files: list[dict[str, Any]] = field(default_factory=list)

    def add_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.zf.writestr(info, data)
        self.files.append({"path": name, "size": len(data),
                           "sha256": hashlib.sha256(data).hexdigest()})

    def add_file(self, name: str, source: Path) -> None:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED  # images and video are compressed already
        digest, size = hashlib.sha256(), 0
        with source.open("rb") as src, self.zf.open(info, "w", force_zip64=True) as dst:
            while chunk := src.read(HASH_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
        self.files.append({"path": name, "size": size, "sha256": digest.hexdigest()})


def document_member(record: dict[str, Any]) -> str:
    return f"documents/{record['id']}{EXTENSIONS.get(str(record.get('content_type')), '.bin')}"


def recording_member(record: dict[str, Any]) -> str:
    name = f"{record['id']}.webm"
    if not RECORDING_RE.fullmatch(name):
        raise ValueError(f"recording id {record['id']!r} cannot name a file")
    return f"recording/{name}"


def _add_documents(w: _Writer, docs: Sequence[Document], member: Any) -> list[dict[str, Any]]:
    out = []
    for doc in docs:
        name: str | None = member(doc.record)
        if doc.path is not None and doc.path.exists():
            w.add_file(str(name), doc.path)
        else:
            name = None  # the record stays; its file was deleted by the retention rule
        out.append({**doc.record, "file": name})
    return out


def write(claim: Claim, key: Ed25519PrivateKey, target: Path) -> tuple[str, int]:
    """Write the signed bundle to ``target`` (atomically, fsynced); its SHA-256 and size."""
    start = chain.genesis(claim.branch, claim.reference)
    chained = chain.link(claim.audit, start)
    tmp = target.with_name(f".{target.name}.tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(tmp, "w") as zf:
        w = _Writer(zf)
        w.add_bytes(DECISION, dumps(claim.decision))
        docs = _add_documents(w, claim.documents, document_member)
        docs += _add_documents(w, claim.recordings, recording_member)
        w.add_bytes(DOCUMENTS, dumps(docs))
        w.add_bytes(READINGS, dumps(list(claim.readings)))
        w.add_bytes(AUDIT, chain.to_jsonl(chained))
        if claim.consent is not None:
            w.add_bytes(CONSENT, dumps(claim.consent))
        manifest = {
            "format": FORMAT, "branch": claim.branch, "reference": claim.reference,
            "ticket": claim.ticket, "created": claim.created,
            "signer": {"algorithm": "ed25519", "key_id": keys.key_id(key),
                       "public_key": base64.b64encode(keys.raw_public(key)).decode()},
            "files": sorted(w.files, key=lambda f: f["path"]),
            "audit": {"entries": len(chained), "genesis": start, "head": chain.head(chained,
                                                                                     start)},
        }
        manifest_bytes = dumps(manifest)
        w.zf.writestr(zipfile.ZipInfo(MANIFEST, date_time=(1980, 1, 1, 0, 0, 0)),
                      manifest_bytes)
        signature = base64.b64encode(key.sign(manifest_bytes)) + b"\n"
        w.zf.writestr(zipfile.ZipInfo(SIGNATURE, date_time=(1980, 1, 1, 0, 0, 0)), signature)
    digest, size = hashlib.sha256(), 0
    with tmp.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(f.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return digest.hexdigest(), size


# -- verification ---------------------------------------------------------------------------


def _short(digest: str) -> str:
    return f"{digest[:12]}…"


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise BundleInvalid([f"{name} is {info.file_size} bytes, more than the {limit} allowed"])
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        raise BundleInvalid([f"{name} is damaged: {exc}"]) from None


def _digest(zf: zipfile.ZipFile, name: str) -> tuple[str, int] | str:
    """(SHA-256, size) of a member, or a sentence saying it is damaged."""
    digest, size = hashlib.sha256(), 0
    try:
        with zf.open(name) as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        return f"{name}: its bytes were altered ({exc})"
    return digest.hexdigest(), size


def _manifest(zf: zipfile.ZipFile) -> tuple[dict[str, Any], bytes]:
    if MANIFEST not in zf.namelist():
        raise BundleInvalid([f"no {MANIFEST}: this is not an evidence bundle"])
    raw = _read_member(zf, MANIFEST, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BundleInvalid([f"{MANIFEST} is not JSON: {exc}"]) from None
    if not isinstance(manifest, dict):
        raise BundleInvalid([f"{MANIFEST} is not a JSON object"])
    if manifest.get("format") != FORMAT:
        raise BundleInvalid([f"{MANIFEST}: format {manifest.get('format')!r} is not {FORMAT!r}"])
    problems = []
    for name in ("branch", "reference"):
        if not isinstance(manifest.get(name), str) or not manifest[name]:
            problems.append(f"{MANIFEST}: {name} is missing")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str)
            and isinstance(f.get("size"), int) and isinstance(f.get("sha256"), str)
            for f in files):
        problems.append(f"{MANIFEST}: files must be a list of {{path, size, sha256}}")
    audit = manifest.get("audit")
    if not isinstance(audit, dict) or not isinstance(audit.get("entries"), int) or not all(
            isinstance(audit.get(k), str) for k in ("genesis", "head")):
        problems.append(f"{MANIFEST}: audit must give entries, genesis and head")
    signer = manifest.get("signer")
    if not isinstance(signer, dict) or signer.get("algorithm") != "ed25519" or not all(
            isinstance(signer.get(k), str) for k in ("key_id", "public_key")):
        problems.append(f"{MANIFEST}: signer must give algorithm ed25519, key_id and public_key")
    if problems:
        raise BundleInvalid(problems)
    return manifest, raw


def _signature_problems(zf: zipfile.ZipFile, manifest: dict[str, Any], raw: bytes,
                        public_key: Ed25519PublicKey | None) -> list[str]:
    signer = manifest["signer"]
    if SIGNATURE not in zf.namelist():
        return ["the bundle is not signed (no signature file)"]
    try:
        signature = base64.b64decode(_read_member(zf, SIGNATURE, 1024).strip(), validate=True)
    except ValueError:
        return ["the signature file is not base64"]
    if public_key is not None:
        given = keys.key_id(public_key)
        if given != signer["key_id"]:
            return [f"signed by key {_short(signer['key_id'])}, not by the given key "
                    f"{_short(given)} (another branch's key, or a forgery)"]
        key = public_key
    else:
        embedded = keys.from_raw(signer["public_key"])
        if embedded is None or keys.key_id(embedded) != signer["key_id"]:
            return [f"{MANIFEST}: signer.public_key is not the key named by signer.key_id"]
        key = embedded
    if not keys.verify(key, signature, raw):
        return ["the signature does not match manifest.json: the manifest was changed after "
                "it was signed, or the signature is not this key's"]
    return []


def _document_problems(zf: zipfile.ZipFile, actual: dict[str, str]) -> list[str]:
    try:
        docs = json.loads(_read_member(zf, DOCUMENTS, MAX_JSON_MEMBER_BYTES))
    except (ValueError, KeyError):
        return [f"{DOCUMENTS} is not JSON"]
    problems = []
    for doc in docs if isinstance(docs, list) else []:
        if not isinstance(doc, dict):
            continue
        name, recorded = doc.get("file"), doc.get("sha256")
        if isinstance(name, str) and name in actual and actual[name] != recorded:
            problems.append(f"{name} is not document {doc.get('id')} as the branch recorded it "
                            f"(SHA-256 {_short(actual[name])}, recorded {_short(str(recorded))})")
    return problems


def verify(source: Path | IO[bytes], public_key: Ed25519PublicKey | None = None) -> Verified:
    """Check a bundle; raise :class:`BundleInvalid` listing every problem found."""
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
        except OSError as exc:
            raise BundleInvalid([f"cannot read {source}: {exc.strerror}"]) from None
        if size > MAX_BUNDLE_BYTES:
            raise BundleInvalid([f"{size} bytes is more than a bundle may be "
                                 f"({MAX_BUNDLE_BYTES})"])
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleInvalid([f"not an evidence bundle: not a readable zip file ({exc})"]) from None
    with zf:
        names = zf.namelist()
        if len(names) > MAX_MEMBERS:
            raise BundleInvalid([f"{len(names)} files is more than a bundle may hold"])
        manifest, raw = _manifest(zf)
        problems = _signature_problems(zf, manifest, raw, public_key)
        genesis = chain.genesis(manifest["branch"], manifest["reference"])
        if manifest["audit"]["genesis"] != genesis:
            problems.append("the audit chain does not start at this claim's genesis (it belongs "
                            "to another branch or claim)")
        seen: set[str] = set()
        for name in names:
            if name in seen:
                problems.append(f"the bundle holds {name} twice")
            seen.add(name)
            if not MEMBER_RE.fullmatch(name):
                problems.append(f"{name!r} is not an allowed file name in a bundle")
        listed = {f["path"]: f for f in manifest["files"]}
        for name in REQUIRED:
            if name not in listed:
                problems.append(f"{name} is not in the manifest")
        actual: dict[str, str] = {}
        for name, entry in sorted(listed.items()):
            if name not in seen:
                problems.append(f"{name} is listed in the manifest but missing from the bundle")
                continue
            result = _digest(zf, name)
            if isinstance(result, str):
                problems.append(result)
                continue
            actual[name] = result[0]
            if result != (entry["sha256"], entry["size"]):
                problems.append(f"{name}: content differs from the manifest (SHA-256 "
                                f"{_short(result[0])}, {result[1]} bytes; the manifest says "
                                f"{_short(entry['sha256'])}, {entry['size']} bytes)")
        for name in sorted(seen - set(listed) - {MANIFEST, SIGNATURE}):
            problems.append(f"{name} is in the bundle but not in the manifest")
        if DOCUMENTS in actual:
            problems.extend(_document_problems(zf, actual))
        if AUDIT in seen and AUDIT in listed:
            try:
                text = _read_member(zf, AUDIT, MAX_JSON_MEMBER_BYTES)
            except BundleInvalid as exc:
                problems.extend(exc.problems)
            else:
                audit = manifest["audit"]
                problems.extend(chain.check(text, genesis, entries=audit["entries"],
                                            last=audit["head"]))
    if problems:
        raise BundleInvalid(problems)
    return Verified(manifest, manifest["signer"]["key_id"], public_key is not None,
                    len(listed))


def read_json(source: Path, name: str) -> Any:
    """One JSON member of a bundle (for tools that show a verified bundle's contents)."""
    with zipfile.ZipFile(source) as zf:
        return json.loads(_read_member(zf, name, MAX_JSON_MEMBER_BYTES))
