"""The head office's tables in PostgreSQL, as numbered migrations applied under an advisory
lock, so that several processes starting at once apply each step exactly once."""

from __future__ import annotations

import asyncpg

MIGRATION_LOCK = 0x62696C696B  # "bilik": the advisory lock key of schema changes

MIGRATIONS: list[str] = [
    # 1: branches and their keys, uploads in progress, stored bundles, refusals, bookings
    """
    CREATE TABLE branches (
        id text PRIMARY KEY,
        public_key text NOT NULL,
        key_id text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        added timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE uploads (
        id text PRIMARY KEY,
        branch text NOT NULL REFERENCES branches(id),
        reference text NOT NULL,
        sha256 text NOT NULL,
        size bigint NOT NULL,
        received bigint NOT NULL DEFAULT 0,
        created timestamptz NOT NULL DEFAULT now(),
        updated timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE bundles (
        id bigserial PRIMARY KEY,
        branch text NOT NULL REFERENCES branches(id),
        reference text NOT NULL,
        sha256 text NOT NULL,
        size bigint NOT NULL,
        key_id text NOT NULL,
        files integer NOT NULL,
        manifest jsonb NOT NULL,
        received timestamptz NOT NULL DEFAULT now(),
        UNIQUE (branch, reference)
    );
    CREATE TABLE refusals (
        id bigserial PRIMARY KEY,
        branch text NOT NULL,
        reference text NOT NULL,
        sha256 text NOT NULL,
        problems jsonb NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE bookings (
        branch text NOT NULL,
        code text NOT NULL,
        day date NOT NULL,
        appointment jsonb NOT NULL,
        imported timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (branch, code)
    );
    CREATE INDEX bookings_day ON bookings (branch, day);
    """,
]


async def migrate(conn: asyncpg.Connection) -> int:
    """Bring the schema up to date; returns the version. Refuses a newer database."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        current = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
        if current > len(MIGRATIONS):
            from headoffice.errors import DatabaseUnavailable

            raise DatabaseUnavailable(
                f"the database has schema version {current}, newer than this software "
                f"({len(MIGRATIONS)}); upgrade Bilik")
        for version in range(current + 1, len(MIGRATIONS) + 1):
            await conn.execute(MIGRATIONS[version - 1])
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
        return len(MIGRATIONS)
