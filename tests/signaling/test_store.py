"""The SQLite store: migrations, durability across reopen, the append-only audit log."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from signaling.errors import StoreError
from signaling.store import DB_FILE, MIGRATIONS, AsyncStore, PairingRecord, Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / DB_FILE)
    yield s
    s.close()


def test_new_database_is_migrated_to_the_latest_schema_in_wal_mode(store: Store) -> None:
    assert store.schema_version == len(MIGRATIONS)
    assert store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"devices", "pairings", "audit"} <= tables


def test_database_newer_than_the_software_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this software"):
        Store(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open database"):
        Store(path)


def test_records_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    s = Store(path)
    s.device_seen("booth-01", "booth", 10.0, online=True)
    s.device_status("booth-01", "idle", {"camera": "ok"}, 11.0)
    s.add_pairing(PairingRecord("p-1", "booth-01", "hub-01", 12.0), actor="server")
    s.add_pairing(PairingRecord("p-2", "booth-02", "hub-01", 13.0), actor="server")
    assert s.release_pairing("p-2", 14.0, "done", actor="booth-02")
    s.close()

    again = Store(path)
    try:
        assert again.schema_version == len(MIGRATIONS)
        [device] = again.devices()
        assert device["id"] == "booth-01" and device["online"] is True
        assert device["state"] == "idle" and device["health"] == {"camera": "ok"}
        assert again.active_pairings() == [PairingRecord("p-1", "booth-01", "hub-01", 12.0)]
        released = [r for r in again.pairings() if r.id == "p-2"]
        assert released == [PairingRecord("p-2", "booth-02", "hub-01", 13.0, 14.0, "done")]
        actions = [(e.actor, e.action, e.subject) for e in again.audit_log()]
        assert actions == [("server", "pair", "booth-01"), ("server", "pair", "booth-02"),
                           ("booth-02", "release", "booth-02")]
        again.mark_all_offline()
        assert again.devices()[0]["online"] is False
    finally:
        again.close()


def test_releasing_twice_or_unknown_pairing_changes_nothing(store: Store) -> None:
    store.add_pairing(PairingRecord("p-1", "booth-01", "hub-01", 1.0), actor="server")
    assert store.release_pairing("p-1", 2.0, "done", actor="server")
    before = store.audit_log()
    assert not store.release_pairing("p-1", 3.0, "admin", actor="admin")
    assert not store.release_pairing("p-nope", 3.0, "admin", actor="admin")
    assert store.audit_log() == before
    assert store.pairings()[0].reason == "done"


def test_audit_log_is_append_only(store: Store) -> None:
    store.audit(1.0, "server", "start")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.execute("UPDATE audit SET actor='someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.execute("DELETE FROM audit")
    assert [e.actor for e in store.audit_log()] == ["server"]


def test_failed_transaction_stores_nothing(store: Store) -> None:
    def half(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO pairings (id, booth, hub, created) VALUES ('p-x', 'b', 'h', 1)")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        store.transaction(half)
    assert store.pairings() == []


def test_audit_paging_follows_sequence_numbers(store: Store) -> None:
    for i in range(5):
        store.audit(float(i), "server", f"a{i}")
    first = store.audit_log(limit=2)
    rest = store.audit_log(after=first[-1].seq, limit=10)
    assert [e.action for e in first + rest] == [f"a{i}" for i in range(5)]


async def test_async_store_runs_calls_in_order_on_one_named_thread(tmp_path: Path) -> None:
    store = AsyncStore(tmp_path / DB_FILE)
    try:
        threads: set[str] = set()

        def note(i: int) -> int:
            threads.add(threading.current_thread().name)
            store.sync.audit(float(i), "t", f"n{i}")
            return i

        results = await asyncio.gather(*(store.call(note, i) for i in range(20)))
        assert results == list(range(20))
        assert [e.action for e in store.sync.audit_log()] == [f"n{i}" for i in range(20)]
        assert len(threads) == 1 and next(iter(threads)).startswith("bilik-store")
    finally:
        store.close()


def test_async_store_reports_an_unusable_path_and_leaves_no_thread(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot use data directory"):
        AsyncStore(blocker / "server" / DB_FILE)
