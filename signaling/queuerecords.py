"""The queue feature's schema and records: its tables, and the store functions that read and
write them (run on the store thread, :class:`signaling.store.AsyncStore`).

The journal is the record: one row per event, with its decisions, written in the same
transaction as its audit rows and, every ``SNAPSHOT_EVERY`` events, a snapshot of the state; a
restart replays the journal after the snapshot through the (deterministic) core.
"""

from __future__ import annotations

import json
import sqlite3

from signaling.store import Store

STEPS = [
    """
    CREATE TABLE queue_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE queue_journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        event TEXT NOT NULL,
        decisions TEXT NOT NULL
    );
    CREATE INDEX queue_journal_at ON queue_journal(at);
    """,
    # 2: the snapshot names the last journal entry it includes; later entries are replayed
    """
    ALTER TABLE queue_state ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE queue_state SET seq = (SELECT COALESCE(MAX(seq), 0) FROM queue_journal);
    """,
]

AUDITED = {"ticket_issued", "checked_in", "call", "recall", "no_show", "claimed", "move",
           "repair"}


def load_state(store: Store) -> tuple[str | None, int, list[tuple[float, str]]]:
    """The last snapshot, the journal entry it ends at, and the events recorded after it."""
    row = store.execute("SELECT state, seq FROM queue_state WHERE id = 1").fetchone()
    state, seq = (None, 0) if row is None else (str(row[0]), int(row[1]))
    later = store.execute(
        "SELECT at, event FROM queue_journal WHERE seq > ? ORDER BY seq", (seq,)
    ).fetchall()
    return state, seq, [(float(r[0]), str(r[1])) for r in later]


def save(store: Store, snapshot: str | None, at: float, actor: str, event: str,
          decisions: str) -> None:
    """One transaction: the journal entry, its audit rows and, now and then, a snapshot."""
    def work(db: sqlite3.Connection) -> None:
        cursor = db.execute(
            "INSERT INTO queue_journal (at, actor, event, decisions) VALUES (?, ?, ?, ?)",
            (at, actor, event, decisions),
        )
        if snapshot is not None:
            db.execute(
                "INSERT INTO queue_state (id, state, updated, seq) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET state = excluded.state, "
                "updated = excluded.updated, seq = excluded.seq",
                (snapshot, at, cursor.lastrowid),
            )
        for d in json.loads(decisions):
            if d.get("kind") in AUDITED and d.get("ticket"):
                store._audit(db, at, actor, "queue_" + d["kind"], d["ticket"], d)

    store.transaction(work)


def journal(store: Store, since: float) -> list[tuple[float, str, str]]:
    rows = store.execute(
        "SELECT at, event, decisions FROM queue_journal WHERE at >= ? ORDER BY seq", (since,)
    ).fetchall()
    return [(float(r[0]), str(r[1]), str(r[2])) for r in rows]
