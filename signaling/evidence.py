"""The evidence of one decided claim, gathered from the branch database for its signed bundle
(run on the store thread). The bundle's format is :mod:`bilik.evidence.bundle`; the outbox that
builds and sends it is :mod:`signaling.outbox`.

What a claim's bundle holds: the decision row with its claim data, the pairings and case events
of the ticket, its documents and their files, what was read from them, the consent (the
consent feature's record of the ticket's latest answer, :meth:`ConsentRecord.to_json`), the
recordings (documents of kind ``recording`` or a ``video/`` type), and the audit entries of the
case up to the decision, hash-chained.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bilik.evidence.bundle import Claim, Document
from signaling.consentrecords import consent_of

if TYPE_CHECKING:
    from signaling.store import Store

CASE_WINDOW_S = 24 * 3600.0  # audit entries of a case lie within this before its first pairing
JSON_COLUMNS = frozenset({"checklist", "detail", "people", "problems", "claim", "claim_data",
                          "health"})


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


def _consent(store: Store, ticket: str, pairing_ids: list[str]) -> dict[str, Any] | None:
    """The case's consent as the consent feature keeps it (:meth:`ConsentRecord.to_json`):
    the latest answer given for the ticket or one of its pairings (a session outside the
    queue has the ticket ``pairing:<id>``)."""
    if not _has_table(store, "consents"):
        return None
    row = store.execute(f"SELECT ticket FROM consents WHERE ticket=? OR pairing IN "
                        f"({_in(pairing_ids)}) ORDER BY seq DESC LIMIT 1",
                        (ticket, *pairing_ids)).fetchone()
    record = None if row is None else consent_of(store, str(row[0]))
    return None if record is None else record.to_json()


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
    consent = _consent(store, ticket, pairing_ids)
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
