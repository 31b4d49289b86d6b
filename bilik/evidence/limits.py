"""Named limits of evidence bundles."""

from __future__ import annotations

FORMAT = "bilik-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "signature"
AUDIT = "audit.jsonl"
MAX_BUNDLE_BYTES = 2 * 1024**3  # documents are ~200 KB each; recordings dominate
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_MEMBERS = 1000  # files in one bundle (a claim has a handful of documents)
MAX_JSON_MEMBER_BYTES = 16 * 1024 * 1024  # decision.json, readings.json, audit.jsonl, ...
HASH_CHUNK = 1024 * 1024  # bytes hashed at a time
