"""A decided claim with documents, readings, audit entries, consent and a recording, made
on disk for the bundle tests (the same shape the branch server collects)."""

from __future__ import annotations

from pathlib import Path

from bilik.evidence.bundle import Claim, Document

JPEG = b"\xff\xd8\xff\xe0" + b"JFIF-ktp-" + bytes(range(256)) * 8
JPEG2 = b"\xff\xd8\xff\xe0" + b"JFIF-kk--" + bytes(reversed(range(256))) * 8
WEBM = b"\x1a\x45\xdf\xa3" + b"webm-recording-" + b"\x00\x01" * 4000


def make_claim(tmp: Path, *, branch: str = "kc-01", reference: str = "KLM-20261207-0A1B2C3D",
               consent: bool = True, recording: bool = True) -> Claim:
    ktp, kk, rec = tmp / "ktp.jpg", tmp / "kk.jpg", tmp / "session.webm"
    ktp.write_bytes(JPEG)
    kk.write_bytes(JPEG2)
    rec.write_bytes(WEBM)
    import hashlib

    def doc(doc_id: str, kind: str, data: bytes, path: Path) -> Document:
        return Document({"id": doc_id, "kind": kind, "size": len(data), "content_type":
                         "image/jpeg", "sha256": hashlib.sha256(data).hexdigest(),
                         "status": "accepted"}, path)

    audit = [
        {"seq": 10 + i, "at": 1_800_000_000.0 + i, "actor": actor, "action": action,
         "subject": "booth-01", "detail": {"pairing": "p-1", "n": i}}
        for i, (actor, action) in enumerate([
            ("queue", "pair"), ("booth-01", "document_uploaded"), ("booth-01",
                                                                   "document_uploaded"),
            ("officer-07", "document_accepted"), ("officer-07", "decision")])
    ]
    return Claim(
        branch=branch, reference=reference, ticket="t-42", created=1_800_000_100.0,
        decision={"reference": reference, "outcome": "approved", "officer": "officer-07",
                  "claim": {"nik": "3171234506780001", "name": "Siti Rahayu", "bank": "BRI",
                            "account": "1234567890"}},
        documents=[doc("d-00000000000000a1", "ktp", JPEG, ktp),
                   doc("d-00000000000000a2", "kk", JPEG2, kk)],
        readings=[{"document": "d-00000000000000a1", "nik": "3171234567890001",
                   "name": "SITI RAHAYU", "confidence": 91.5}],
        audit=audit,
        consent={"ticket": "t-42", "booth": "booth-03", "wording": "2026-12.1", "accepted": True,
                 "at": "2027-01-15T08:00:01.000Z", "required": False}
        if consent else None,
        recordings=[doc("r-00000000000000b1", "recording", WEBM, rec)] if recording else [],
    )
