"""The consent feature's records: the ``consents`` table, one row per answer a participant
gave (the latest answer of a ticket is its consent), and the record as the case and the
evidence bundle keep it (:meth:`ConsentRecord.to_json`). See :mod:`signaling.consent`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signaling.store import Store

STEPS = [
    """
    CREATE TABLE consents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket TEXT NOT NULL,
        booth TEXT NOT NULL,
        pairing TEXT NOT NULL,
        hub TEXT NOT NULL,
        wording TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        at REAL NOT NULL,
        required INTEGER NOT NULL,
        received REAL NOT NULL
    );
    CREATE INDEX consents_ticket ON consents(ticket);
    """,
]


@dataclass(frozen=True)
class ConsentRecord:
    ticket: str
    booth: str
    pairing: str
    hub: str
    wording: str
    accepted: bool
    at: float
    required: bool

    def to_json(self) -> dict[str, Any]:
        """The record as the case and the evidence bundle keep it."""
        at = datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return {"ticket": self.ticket, "booth": self.booth, "wording": self.wording,
                "accepted": self.accepted, "at": at, "required": self.required}


# --- store functions (run on the store thread) ---------------------------------------------


def record_consent(store: Store, record: ConsentRecord, received: float) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO consents (ticket, booth, pairing, hub, wording, accepted, at, required, "
            "received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.ticket, record.booth, record.pairing, record.hub, record.wording,
             int(record.accepted), record.at, int(record.required), received))
        store._audit(db, received, record.booth, "consent", record.ticket,
                     {"wording": record.wording, "accepted": record.accepted,
                      "at": record.at, "pairing": record.pairing})

    store.transaction(work)


def consent_of(store: Store, ticket: str) -> ConsentRecord | None:
    """The latest answer given for ``ticket``, or ``None`` if the participant was not asked."""
    row = store.execute(
        "SELECT ticket, booth, pairing, hub, wording, accepted, at, required FROM consents "
        "WHERE ticket=? ORDER BY seq DESC LIMIT 1", (ticket,)).fetchone()
    if row is None:
        return None
    return ConsentRecord(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                         bool(row[5]), float(row[6]), bool(row[7]))
