"""The readings feature's schema and records: what OCR read from each stored document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from signaling.store import Store

STEPS = [
    """
    CREATE TABLE document_readings (
        document TEXT PRIMARY KEY,
        ticket TEXT NOT NULL,
        kind TEXT NOT NULL,
        nik TEXT NOT NULL,
        name TEXT NOT NULL,
        confidence REAL NOT NULL,
        people TEXT NOT NULL,
        problems TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX document_readings_ticket ON document_readings(ticket);
    """,
]


@dataclass(frozen=True)
class Row:
    nik: str
    name: str
    confidence: float = 0.0


@dataclass(frozen=True)
class StoredReading:
    document: str
    ticket: str
    kind: str
    nik: str
    name: str
    confidence: float
    people: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    at: float = 0.0

    def value(self, name: str) -> str:
        return {"nik": self.nik, "name": self.name}.get(name, "")

    def to_json(self) -> dict[str, Any]:
        return {"document": self.document, "kind": self.kind, "nik": self.nik,
                "name": self.name, "confidence": self.confidence,
                "people": [r.__dict__ for r in self.people], "problems": self.problems,
                "at": self.at}


def store_reading(store: Store, r: StoredReading) -> None:
    store.execute(
        "INSERT OR REPLACE INTO document_readings (document, ticket, kind, nik, name, "
        "confidence, people, problems, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.document, r.ticket, r.kind, r.nik, r.name, r.confidence,
         json.dumps([p.__dict__ for p in r.people]), json.dumps(r.problems), r.at))


def readings_of(store: Store, ticket: str) -> list[StoredReading]:
    rows = store.execute(
        "SELECT document, ticket, kind, nik, name, confidence, people, problems, at "
        "FROM document_readings WHERE ticket=? ORDER BY at", (ticket,)).fetchall()
    return [StoredReading(r[0], r[1], r[2], r[3], r[4], r[5],
                          [Row(**p) for p in json.loads(r[6])], json.loads(r[7]), r[8])
            for r in rows]
