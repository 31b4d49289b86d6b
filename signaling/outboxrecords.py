"""The evidence outbox's table and its rows (run on the store thread): one row per decided
claim, from ``pending`` (decided) through ``built`` (its bundle on disk) to ``acked`` (the
head office has it) and ``deleted`` (the local copy gone after the retention time), or
``refused``. The service that moves them is :mod:`signaling.outbox`.
"""

from __future__ import annotations

import enum
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
