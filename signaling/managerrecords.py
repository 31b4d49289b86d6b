"""What the manager's page reads from the branch database (store functions, run on the
store's thread): the audit entries it follows, each rescan's session, the queue's journal,
the evidence outbox's backlog and the session recordings."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from signaling.documentrecords import RECORDING_KIND
from signaling.outboxrecords import backlog
from signaling.store import Store

# Audit actions the page follows: SLA risks, rescans, receipts a booth could not print.
WATCHED = ("appointment_at_risk", "document_status", "receipt_not_printed")


def watched_since(store: Store, after_seq: int, since: float
                  ) -> tuple[int, list[dict[str, Any]]]:
    """Audit rows the page follows after ``after_seq`` (and not before ``since``), each
    document rescan with the ticket and service of its session; and the audit's last seq."""
    rows = store.execute(
        "SELECT seq, at, action, subject, detail FROM audit WHERE seq > ? AND at >= ? "
        f"AND action IN ({','.join('?' * len(WATCHED))}) ORDER BY seq",
        (after_seq, since, *WATCHED)).fetchall()
    last = store.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]
    out = []
    for seq, at, action, subject, detail in rows:
        entry = {"seq": seq, "at": at, "action": action, "subject": subject,
                 "detail": json.loads(detail)}
        if action == "document_status":
            if entry["detail"].get("status") != "rescan":
                continue
            entry["ticket"], entry["service"] = session_of(store, subject)
        out.append(entry)
    return max(int(last), after_seq), out


def session_of(store: Store, doc_id: str) -> tuple[str, str]:
    """The ticket and service of the session a document belongs to."""
    try:
        row = store.execute(
            "SELECT p.ticket, p.service FROM documents d JOIN pairings p ON p.id = d.pairing "
            "WHERE d.id = ?", (doc_id,)).fetchone()
    except sqlite3.OperationalError:  # no documents feature in this server
        return "", ""
    return (str(row[0]), str(row[1])) if row else ("", "")


def outbox_backlog(store: Store) -> tuple[int, float | None]:
    """Evidence bundles the head office has not acknowledged, and the decision time of the
    oldest (:func:`signaling.outboxrecords.backlog`); none when the server has no outbox."""
    try:
        return backlog(store)
    except sqlite3.OperationalError:  # no evidence feature in this server
        return 0, None


def recordings(store: Store, case: str, since: float, limit: int) -> list[dict[str, Any]]:
    """The session recordings (documents of kind ``recording``) of a case, named by its ticket
    or its claim reference, or with no case those stored since ``since``; newest first."""
    columns = "id, ticket, booth, pairing, size, sha256, uploaded_by, at, status"
    try:
        if case:
            decided = store.execute("SELECT ticket FROM decisions WHERE reference=?",
                                    (case,)).fetchone()
            ticket = str(decided[0]) if decided else case
            rows = store.execute(
                f"SELECT {columns} FROM documents WHERE kind=? AND (ticket=? OR pairing=?) "
                "ORDER BY at DESC LIMIT ?", (RECORDING_KIND, ticket,
                                             ticket.removeprefix("pairing:"), limit)).fetchall()
        else:
            rows = store.execute(
                f"SELECT {columns} FROM documents WHERE kind=? AND at >= ? ORDER BY at DESC "
                "LIMIT ?", (RECORDING_KIND, since, limit)).fetchall()
    except sqlite3.OperationalError:  # no documents (or no cases) feature in this server
        return []
    names = [c.strip() for c in columns.split(",")]
    return [dict(zip(names, r, strict=True)) for r in rows]


def recording(store: Store, doc_id: str) -> dict[str, Any] | None:
    """One recording's record, or ``None``."""
    try:
        row = store.execute("SELECT id, ticket, sha256, status FROM documents WHERE id=? AND "
                            "kind=?", (doc_id, RECORDING_KIND)).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else {"id": row[0], "ticket": row[1], "sha256": row[2],
                                     "status": row[3]}


def journal_range(store: Store, start: float, end: float) -> list[tuple[float, str]]:
    """The queue journal's decisions (JSON) from ``start`` to before ``end``."""
    return [(float(r[0]), str(r[1])) for r in store.execute(
        "SELECT at, decisions FROM queue_journal WHERE at >= ? AND at < ? ORDER BY seq",
        (start, end)).fetchall()]


def journal_seq(store: Store) -> int:
    """The queue journal's last entry: the day's figures change only when it does."""
    return int(store.execute("SELECT COALESCE(MAX(seq), 0) FROM queue_journal").fetchone()[0])
