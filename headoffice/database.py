"""The head office's PostgreSQL: the pool, and the rows of branches (each with its public
key). Uploads and bundles are in :mod:`headoffice.receiver`, bookings in
:mod:`headoffice.bookings`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from bilik.evidence import keys
from headoffice import limits, schema
from headoffice.errors import BadInput, DatabaseUnavailable

BRANCH_RE = re.compile(r"\A[a-z0-9][a-z0-9-]{0,31}\Z")


async def connect(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool on ``dsn`` with the schema up to date, or :class:`DatabaseUnavailable`."""
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         timeout=limits.DB_CONNECT_TIMEOUT_S,
                                         command_timeout=limits.DB_COMMAND_TIMEOUT_S)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL at {_safe(dsn)}: {exc}"
                                  ) from None
    try:
        async with pool.acquire() as conn:
            await schema.migrate(conn)
    except BaseException:
        await pool.close()
        raise
    return pool


def _safe(dsn: str) -> str:
    """The DSN without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", dsn)


@dataclass(frozen=True)
class BranchRow:
    id: str
    key_id: str
    active: bool
    added: str


def check_branch_id(branch: str) -> str:
    if not BRANCH_RE.fullmatch(branch):
        raise BadInput(f"branch id {branch[:40]!r} must be 1-32 lower-case letters, digits or "
                       "'-'")
    return branch


async def add_branch(pool: asyncpg.Pool, branch: str, public_pem: bytes, source: str) -> str:
    """Register (or re-key) a branch; returns its key id."""
    check_branch_id(branch)
    key = keys.parse_public(public_pem, source)
    pem, key_id = keys.public_pem(key), keys.key_id(key)
    await pool.execute(
        "INSERT INTO branches (id, public_key, key_id) VALUES ($1, $2, $3) "
        "ON CONFLICT (id) DO UPDATE SET public_key=excluded.public_key, "
        "key_id=excluded.key_id, active=true", branch, pem, key_id)
    return key_id


async def list_branches(pool: asyncpg.Pool) -> list[BranchRow]:
    rows = await pool.fetch("SELECT id, key_id, active, added FROM branches ORDER BY id")
    return [BranchRow(r["id"], r["key_id"], r["active"], r["added"].isoformat()) for r in rows]


async def branch_key(conn: Any, branch: str) -> bytes | None:
    pem = await conn.fetchval("SELECT public_key FROM branches WHERE id=$1 AND active", branch)
    return None if pem is None else str(pem).encode()
