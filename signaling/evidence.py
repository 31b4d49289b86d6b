"""The evidence of each decided claim, gathered from the branch database into a signed bundle,
and the outbox rows that hold each bundle until the head office has it (store side).

Everything here runs on the store thread (functions of :class:`Store`) or is pure; the
task that builds and sends is :mod:`signaling.outbox`.

What a claim's bundle holds (bilik.evidence.bundle): the decision row with its claim data,
the pairings and case events of the ticket, its documents and their files, what was read
from them, the consent (a ``consents`` table's latest row for the ticket, when the consent
feature has one), the recordings (documents of kind ``recording`` or a ``video/`` type),
and the audit entries of the case up to the decision, hash-chained.
"""

from __future__ import annotations

import contextlib
import enum
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bilik.evidence.bundle import Claim, Document

if TYPE_CHECKING:
    from signaling.store import Store

FEATURE = "evidence"
STEPS = [
    """
    CREATE TABLE evidence_outbox (
        reference TEXT PRIMARY KEY,
        decided REAL NOT NULL,
        state TEXT NOT NULL,
        file TEXT NOT NULL DEFAULT '',
        sha256 TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        resumed_from INTEGER NOT NULL DEFAULT 0,
        acked REAL,
        deleted REAL
    );
    CREATE INDEX evidence_outbox_state ON evidence_outbox(state, next_try);
    """,
]

CASE_WINDOW_S = 24 * 3600.0  # audit entries of a case lie within this before its first pairing
JSON_COLUMNS = frozenset({"checklist", "detail", "people", "problems", "claim", "claim_data",
                          "health"})
REFERENCE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # decided; its bundle is not built yet
    BUILT = "built"  # the bundle is on disk, the head office has not acknowledged it
    ACKED = "acked"  # acknowledged; the local copy is kept until the retention time passed
    REFUSED = "refused"  # the head office refused it (altered, forged): kept and reported
    DELETED = "deleted"  # acknowledged, and the local copy deleted after the retention time


UNSENT = (OutboxState.PENDING, OutboxState.BUILT)


@dataclass(frozen=True)
class OutboxRow:
    reference: str
    decided: float
    state: OutboxState
    file: str
    sha256: str
    size: int
    attempts: int
    next_try: float
    last_error: str
    resumed_from: int


_COLUMNS = ("reference, decided, state, file, sha256, size, attempts, next_try, last_error, "
            "resumed_from")


def _row(r: Any) -> OutboxRow:
    return OutboxRow(r[0], r[1], OutboxState(r[2]), *r[3:])


def bundle_name(reference: str) -> str:
    if not REFERENCE_RE.fullmatch(reference):
        raise ValueError(f"claim reference {reference!r} cannot name a file")
    return f"{reference}.zip"


# -- the outbox ------------------------------------------------------------------------------


def enqueue_decided(store: Store) -> int:
    """Every decision without an outbox row gets one (the decision's own hook and the start-up
    both come here, so a crash between the two loses nothing). Returns how many were added."""
    cur = store.execute(
        "INSERT INTO evidence_outbox (reference, decided, state, next_try) "
        "SELECT reference, at, ?, at FROM decisions "
        "WHERE reference NOT IN (SELECT reference FROM evidence_outbox)",
        (OutboxState.PENDING.value,))
    return int(cur.rowcount)


def awaits_recording(store: Store, reference: str) -> bool:
    """The participant accepted recording and the recording has not been uploaded yet (the
    hub uploads it after the session): the bundle should wait for it."""
    if not _has_table(store, "consents"):
        return False
    row = store.execute("SELECT ticket, pairing FROM decisions WHERE reference=?",
                        (reference,)).fetchone()
    if row is None:
        return False
    ticket, pairing = str(row[0]), str(row[1])
    accepted = store.execute(
        "SELECT 1 FROM consents WHERE (ticket=? OR pairing=?) AND accepted=1 LIMIT 1",
        (ticket, pairing)).fetchone()
    if accepted is None:
        return False
    recorded = store.execute(
        "SELECT 1 FROM documents WHERE (ticket=? OR pairing=?) AND (kind='recording' OR "
        "content_type LIKE 'video/%') AND status != 'deleted' LIMIT 1",
        (ticket, pairing)).fetchone()
    return recorded is None


def postpone(store: Store, reference: str, next_try: float, why: str) -> None:
    """Try again later without counting a failure (waiting for a recording)."""
    store.execute("UPDATE evidence_outbox SET next_try=?, last_error=? WHERE reference=?",
                  (next_try, why, reference))


def _states(sending: bool) -> tuple[str, str]:
    """The states with work to do: built bundles only when there is a head office to send to."""
    return (OutboxState.PENDING.value,
            (OutboxState.BUILT if sending else OutboxState.PENDING).value)


def due(store: Store, now: float, limit: int, *, sending: bool) -> list[OutboxRow]:
    rows = store.execute(
        f"SELECT {_COLUMNS} FROM evidence_outbox WHERE state IN (?, ?) AND next_try <= ? "
        "ORDER BY next_try, decided LIMIT ?", (*_states(sending), now, limit)).fetchall()
    return [_row(r) for r in rows]


def next_due(store: Store, *, sending: bool) -> float | None:
    row = store.execute("SELECT MIN(next_try) FROM evidence_outbox WHERE state IN (?, ?)",
                        _states(sending)).fetchone()
    return None if row[0] is None else float(row[0])


def get(store: Store, reference: str) -> OutboxRow | None:
    r = store.execute(f"SELECT {_COLUMNS} FROM evidence_outbox WHERE reference=?",
                      (reference,)).fetchone()
    return None if r is None else _row(r)


def rows(store: Store) -> list[OutboxRow]:
    return [_row(r) for r in store.execute(
        f"SELECT {_COLUMNS} FROM evidence_outbox ORDER BY decided").fetchall()]


def backlog(store: Store) -> tuple[int, float | None]:
    """Bundles not yet acknowledged, and the decision time of the oldest."""
    row = store.execute("SELECT COUNT(*), MIN(decided) FROM evidence_outbox WHERE state IN "
                        "(?, ?)", tuple(s.value for s in UNSENT)).fetchone()
    return int(row[0]), (None if row[1] is None else float(row[1]))


def mark_built(store: Store, reference: str, file: str, sha256: str, size: int,
               now: float) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute("UPDATE evidence_outbox SET state=?, file=?, sha256=?, size=?, next_try=?, "
                   "last_error='' WHERE reference=?",
                   (OutboxState.BUILT.value, file, sha256, size, now, reference))
        store._audit(db, now, "server", "evidence_built", reference,
                     {"sha256": sha256, "size": size})

    store.transaction(work)


def mark_retry(store: Store, reference: str, next_try: float, error: str) -> None:
    store.execute("UPDATE evidence_outbox SET attempts=attempts+1, next_try=?, last_error=? "
                  "WHERE reference=?", (next_try, error[:500], reference))


def mark_resumed(store: Store, reference: str, offset: int) -> None:
    store.execute("UPDATE evidence_outbox SET resumed_from=? WHERE reference=?",
                  (offset, reference))


def mark_acked(store: Store, reference: str, now: float, ack: dict[str, Any]) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute("UPDATE evidence_outbox SET state=?, acked=?, last_error='' WHERE reference=?",
                   (OutboxState.ACKED.value, now, reference))
        store._audit(db, now, "server", "evidence_acknowledged", reference, ack)

    store.transaction(work)


def mark_refused(store: Store, reference: str, now: float, problems: list[str]) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute("UPDATE evidence_outbox SET state=?, last_error=? WHERE reference=?",
                   (OutboxState.REFUSED.value, "; ".join(problems)[:2000], reference))
        store._audit(db, now, "server", "evidence_refused", reference, {"problems": problems})

    store.transaction(work)


def expired(store: Store, now: float, retention_s: float) -> list[OutboxRow]:
    """Acknowledged bundles whose retention time has passed: their local copy may go."""
    return [_row(r) for r in store.execute(
        f"SELECT {_COLUMNS} FROM evidence_outbox WHERE state=? AND acked <= ?",
        (OutboxState.ACKED.value, now - retention_s)).fetchall()]


def mark_deleted(store: Store, reference: str, now: float) -> None:
    store.execute("UPDATE evidence_outbox SET state=?, deleted=? WHERE reference=? AND state=?",
                  (OutboxState.DELETED.value, now, reference, OutboxState.ACKED.value))


# -- gathering a claim -------------------------------------------------------------------------


def _dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        for key in JSON_COLUMNS & row.keys():
            if isinstance(row[key], str):
                with contextlib.suppress(ValueError):
                    row[key] = json.loads(row[key])
        out.append(row)
    return out


def _has_table(db: Store, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                      (name,)).fetchone() is not None


def _first_seq_since(store: Store, at: float) -> int:
    """The first audit entry written at or after ``at`` (binary search on the primary key:
    the audit log only grows, in time order)."""
    lo, hi = store.execute("SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) "
                           "FROM audit").fetchone()
    hi += 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = store.execute("SELECT seq, at FROM audit WHERE seq >= ? ORDER BY seq LIMIT 1",
                            (mid,)).fetchone()
        if row is None or row[1] >= at:
            hi = mid
        else:
            lo = row[0] + 1
    return int(lo)


def _belongs(entry: dict[str, Any], keys: set[str], pairings: set[str]) -> bool:
    detail = entry["detail"] if isinstance(entry["detail"], dict) else {}
    return (entry["subject"] in keys or detail.get("pairing") in pairings
            or detail.get("ticket") in keys or detail.get("reference") in keys
            or detail.get("document") in keys)


def _in(ids: list[str]) -> str:
    return ",".join("?" * len(ids)) or "NULL"


def collect(store: Store, reference: str, branch: str, documents_root: Path,
            now: float) -> Claim:
    """Everything the bundle of one decided claim holds, read in one go."""
    from signaling.documentrecords import blob_path

    decisions = _dicts(store.execute("SELECT * FROM decisions WHERE reference=?", (reference,)))
    if not decisions:
        raise LookupError(f"no decision {reference}")
    decision = decisions[0]
    ticket, pairing_id = str(decision["ticket"]), str(decision["pairing"])
    queue_ticket = bool(ticket) and not ticket.startswith("pairing:") and ticket != pairing_id
    if queue_ticket:
        pairings = _dicts(store.execute("SELECT * FROM pairings WHERE ticket=? OR id=? "
                                        "ORDER BY created", (ticket, pairing_id)))
    else:
        pairings = _dicts(store.execute("SELECT * FROM pairings WHERE id=?", (pairing_id,)))
    pairing_ids = [str(p["id"]) for p in pairings] or [pairing_id]
    events = _dicts(store.execute(
        f"SELECT kind, booth, hub, officer, detail, at FROM case_events WHERE pairing IN "
        f"({_in(pairing_ids)}) ORDER BY seq", pairing_ids))
    docs = _dicts(store.execute(
        f"SELECT * FROM documents WHERE ticket=? OR pairing IN ({_in(pairing_ids)}) "
        "ORDER BY at", (ticket, *pairing_ids)))
    doc_ids = [str(d["id"]) for d in docs]
    readings = _dicts(store.execute(
        f"SELECT * FROM document_readings WHERE document IN ({_in(doc_ids)}) ORDER BY at",
        doc_ids)) if doc_ids else []
    consent = None
    if _has_table(store, "consents"):
        found = _dicts(store.execute("SELECT * FROM consents WHERE ticket=? OR pairing IN "
                                     f"({_in(pairing_ids)}) ORDER BY at DESC LIMIT 1",
                                     (ticket, *pairing_ids)))
        consent = found[0] if found else None
    start = min([float(p["created"]) for p in pairings] + [float(decision["at"])])
    keys = {ticket, reference, *doc_ids}
    audit = [e for e in _dicts(store.execute(
        "SELECT seq, at, actor, action, subject, detail FROM audit WHERE seq >= ? AND at <= ? "
        "ORDER BY seq", (_first_seq_since(store, start - CASE_WINDOW_S), decision["at"])))
        if _belongs(e, keys, set(pairing_ids))]

    def file_of(d: dict[str, Any]) -> Document:
        path = None if d.get("status") == "deleted" else blob_path(documents_root,
                                                                   str(d["sha256"]))
        return Document(d, path)

    def is_recording(d: dict[str, Any]) -> bool:
        return d.get("kind") == "recording" or str(d.get("content_type")).startswith("video/")

    return Claim(
        branch=branch, reference=reference, ticket=ticket, created=now,
        decision={**decision, "pairings": pairings, "case_events": events},
        documents=[file_of(d) for d in docs if not is_recording(d)],
        readings=readings, audit=audit, consent=consent,
        recordings=[file_of(d) for d in docs if is_recording(d)],
    )
