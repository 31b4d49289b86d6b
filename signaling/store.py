"""The branch server's durable records in SQLite (one file, WAL), behind one small class.

Schema changes are numbered migrations applied in order and recorded in
``PRAGMA user_version``; a database newer than this code is refused. Every write
is its own transaction, committed (WAL, ``synchronous=FULL``: fsynced) before the server
acknowledges anything, so neither ``kill -9`` nor a power cut loses what was acknowledged.

:class:`Store` is synchronous and owned by one thread; :class:`AsyncStore` runs it
on a single named worker thread so that disk waits never stall the event loop,
while keeping writes in the order they were asked for.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from signaling.errors import StoreError

DB_FILE = "bilik.sqlite3"
T = TypeVar("T")

# Each entry upgrades the schema by one version. Never edit a released entry: add one.
MIGRATIONS: list[str] = [
    # 1: device registry, pairings, append-only audit log
    """
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        online INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT '',
        health TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE pairings (
        id TEXT PRIMARY KEY,
        booth TEXT NOT NULL,
        hub TEXT NOT NULL,
        created REAL NOT NULL,
        released REAL,
        reason TEXT
    );
    CREATE INDEX pairings_active ON pairings(released) WHERE released IS NULL;
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    """,
    # 2: features (queue, documents, cases) keep their own numbered schema steps
    """
    CREATE TABLE feature_schema (
        feature TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    );
    """,
    # 3: a pairing names the queue ticket it serves
    """
    ALTER TABLE pairings ADD COLUMN ticket TEXT NOT NULL DEFAULT '';
    ALTER TABLE pairings ADD COLUMN number TEXT NOT NULL DEFAULT '';
    ALTER TABLE pairings ADD COLUMN service TEXT NOT NULL DEFAULT '';
    """,
]


@dataclass(frozen=True)
class PairingRecord:
    id: str
    booth: str
    hub: str
    created: float
    released: float | None = None
    reason: str | None = None
    ticket: str = ""
    number: str = ""
    service: str = ""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class Store:
    """Synchronous access to the branch database. Use from one thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + FULL: every commit is fsynced before it returns, so what the server
            # acknowledged survives a power cut as well as kill -9 (docs/reliability.md).
            # A branch commits tens of rows a second at most; the fsync is affordable.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:  # also "file is not a database"
            raise StoreError(f"cannot open database {path}: {exc}") from None
        except PermissionError as exc:
            raise StoreError(
                f"data directory {path.parent} is not writable: {exc.strerror}"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot use data directory {path.parent}: {exc}") from None

    # -- schema ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this "
                f"software ({len(MIGRATIONS)}); upgrade Bilik"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            script = MIGRATIONS[version - 1]
            # executescript commits first; wrap the step and the version bump in one transaction.
            self._db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    def migrate_feature(self, feature: str, steps: list[str]) -> None:
        """Apply a feature's own numbered schema steps (its tables), like :data:`MIGRATIONS`.

        Each feature (``queue``, ``documents``, ``cases``) owns its tables and their history,
        so features evolve without editing one shared list.
        """
        row = self._db.execute(
            "SELECT version FROM feature_schema WHERE feature=?", (feature,)
        ).fetchone()
        current = int(row[0]) if row else 0
        if current > len(steps):
            raise StoreError(
                f"database {self.path}: feature {feature} has schema version {current}, newer "
                f"than this software ({len(steps)}); upgrade Bilik"
            )
        for version in range(current + 1, len(steps) + 1):
            self._db.executescript(
                f"BEGIN IMMEDIATE;\n{steps[version - 1]}\n"
                f"INSERT INTO feature_schema (feature, version) VALUES ('{feature}', {version}) "
                f"ON CONFLICT(feature) DO UPDATE SET version={version};\nCOMMIT;"
            )

    def close(self) -> None:
        self._db.close()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run one statement (each statement is its own committed transaction)."""
        return self._db.execute(sql, tuple(params))

    def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one immediate transaction: all of it is stored, or none of it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return result

    # -- devices --------------------------------------------------------------------------

    def device_seen(self, device_id: str, role: str, now: float, *, online: bool) -> None:
        # Presence is bookkeeping, acknowledged to nobody, and rebuilt at every start
        # (mark_all_offline): it is committed without its own fsync. The next FULL commit
        # makes it durable with everything before it. Under connection churn this halves
        # the disk's work, which every acknowledged write waits behind.
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute(
                """INSERT INTO devices (id, role, first_seen, last_seen, online)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET role=excluded.role,
                   last_seen=excluded.last_seen, online=excluded.online""",
                (device_id, role, now, now, int(online)),
            )
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def device_status(self, device_id: str, state: str, health: dict[str, str], now: float) -> None:
        self._db.execute(
            "UPDATE devices SET state=?, health=?, last_seen=? WHERE id=?",
            (state, json.dumps(health, sort_keys=True), now, device_id),
        )

    def mark_all_offline(self) -> None:
        self._db.execute("UPDATE devices SET online=0 WHERE online=1")

    def devices(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id, role, first_seen, last_seen, online, state, health FROM devices ORDER BY id"
        ).fetchall()
        return [
            {
                "id": r[0],
                "role": r[1],
                "first_seen": r[2],
                "last_seen": r[3],
                "online": bool(r[4]),
                "state": r[5],
                "health": json.loads(r[6]),
            }
            for r in rows
        ]

    # -- pairings -------------------------------------------------------------------------

    def add_pairing(self, record: PairingRecord, *, actor: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO pairings (id, booth, hub, created, ticket, number, service) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.booth, record.hub, record.created, record.ticket,
                 record.number, record.service),
            )
            self._audit(db, record.created, actor, "pair", record.booth, {
                "hub": record.hub, "pairing": record.id, "ticket": record.ticket})

        self.transaction(work)

    def release_pairing(self, pairing_id: str, now: float, reason: str, *, actor: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT booth, hub FROM pairings WHERE id=? AND released IS NULL", (pairing_id,)
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "UPDATE pairings SET released=?, reason=? WHERE id=?", (now, reason, pairing_id)
            )
            self._audit(db, now, actor, "release", row[0], {"hub": row[1], "pairing": pairing_id,
                                                           "reason": reason})
            return True

        return self.transaction(work)

    def active_pairings(self) -> list[PairingRecord]:
        rows = self._db.execute(
            "SELECT id, booth, hub, created, ticket, number, service FROM pairings "
            "WHERE released IS NULL ORDER BY created"
        ).fetchall()
        return [PairingRecord(r[0], r[1], r[2], r[3], ticket=r[4], number=r[5], service=r[6])
                for r in rows]

    def pairings(self, limit: int = 200) -> list[PairingRecord]:
        rows = self._db.execute(
            "SELECT id, booth, hub, created, released, reason, ticket, number, service "
            "FROM pairings ORDER BY created DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [PairingRecord(*r) for r in rows]

    # -- audit ----------------------------------------------------------------------------

    @staticmethod
    def _audit(
        db: sqlite3.Connection, at: float, actor: str, action: str, subject: str,
        detail: dict[str, Any],
    ) -> None:
        db.execute(
            "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
            (at, actor, action, subject, json.dumps(detail, sort_keys=True, default=str)),
        )

    def audit(
        self, at: float, actor: str, action: str, subject: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._audit(self._db, at, actor, action, subject, detail or {})

    def audit_log(self, after: int = 0, limit: int = 100) -> list[AuditEntry]:
        rows = self._db.execute(
            "SELECT seq, at, actor, action, subject, detail FROM audit WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


class AsyncStore:
    """Runs a :class:`Store` on one worker thread; calls complete in the order they were made."""

    def __init__(self, path: Path) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bilik-store")
        try:
            self.sync = self._pool.submit(Store, path).result()
        except BaseException:
            self._pool.shutdown(wait=True)
            raise

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._pool.submit(self.sync.close).result()
        self._pool.shutdown(wait=True)
