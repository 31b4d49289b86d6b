"""What the manager's page reads from the branch database (store functions, run on the store's
thread): the audit entries it follows, each rescan's session, and the queue's journal."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from signaling.store import Store

WATCHED = ("appointment_at_risk", "document_status")  # audit actions the page follows


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


def journal_range(store: Store, start: float, end: float) -> list[tuple[float, str]]:
    """The queue journal's decisions (JSON) from ``start`` to before ``end``."""
    return [(float(r[0]), str(r[1])) for r in store.execute(
        "SELECT at, decisions FROM queue_journal WHERE at >= ? AND at < ? ORDER BY seq",
        (start, end)).fetchall()]


def journal_seq(store: Store) -> int:
    """The queue journal's last entry: the day's figures change only when it does."""
    return int(store.execute("SELECT COALESCE(MAX(seq), 0) FROM queue_journal").fetchone()[0])
