"""The case's audit entries as a hash chain (pure).

Each entry carries ``prev`` (the hash of the entry before it; the first one the bundle's
*genesis*, derived from the branch and the claim reference, so a chain cannot be moved to
another claim) and ``hash`` = SHA-256 of the canonical JSON of the entry without ``hash``.
Dropping, inserting, reordering or editing an entry breaks the chain at that point, and the
manifest (signed) names the number of entries and the last hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bilik.evidence.canonical import dumps, sha256_hex
from bilik.evidence.limits import FORMAT

ENTRY_FIELDS = ("seq", "at", "actor", "action", "subject", "detail")


def genesis(branch: str, reference: str) -> str:
    return sha256_hex(f"{FORMAT}|{branch}|{reference}".encode())


def entry_hash(entry: dict[str, Any]) -> str:
    return sha256_hex(dumps({k: v for k, v in entry.items() if k != "hash"}))


def link(entries: Iterable[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    """The entries (dicts with :data:`ENTRY_FIELDS`) chained, in the order given."""
    out: list[dict[str, Any]] = []
    prev = start
    for raw in entries:
        entry = {k: raw[k] for k in ENTRY_FIELDS}
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(entry)
        out.append(entry)
    return out


def to_jsonl(chained: list[dict[str, Any]]) -> bytes:
    return b"".join(dumps(e) + b"\n" for e in chained)


def head(chained: list[dict[str, Any]], start: str) -> str:
    return chained[-1]["hash"] if chained else start


def check(text: bytes, start: str, *, entries: int, last: str) -> list[str]:
    """What is wrong with an ``audit.jsonl`` (empty list: nothing).

    ``entries`` and ``last`` are what the signed manifest says.
    """
    problems: list[str] = []
    parsed: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"audit entry {n}: not JSON")
            continue
        if not isinstance(entry, dict) or any(k not in entry for k in (*ENTRY_FIELDS, "prev",
                                                                         "hash")):
            problems.append(f"audit entry {n}: not an audit entry (needs {', '.join(ENTRY_FIELDS)}"
                            ", prev, hash)")
            continue
        parsed.append(entry)
    by_hash = {e["hash"]: e for e in parsed}
    prev_hash, prev_seq = start, None
    for n, entry in enumerate(parsed, start=1):
        seq = entry["seq"]
        if entry_hash(entry) != entry["hash"]:
            problems.append(f"audit entry {n} (seq {seq}) was altered: its content does not "
                            "match its hash")
        if entry["prev"] != prev_hash:
            before = by_hash.get(entry["prev"])
            if before is not None:
                problems.append(f"audit entry {n} (seq {seq}) is out of order: it was written "
                                f"after seq {before['seq']}, but follows "
                                f"{'the start' if prev_seq is None else f'seq {prev_seq}'}")
            else:
                problems.append(f"audit entry {n} (seq {seq}): an entry before it is missing "
                                "(the chain is broken)")
        prev_hash, prev_seq = entry["hash"], seq
    if len(parsed) != entries:
        problems.append(f"the audit log has {len(parsed)} entries, the signed manifest says "
                        f"{entries}")
    elif prev_hash != last:
        problems.append("the audit log's last entry is not the one the signed manifest names")
    return problems
