"""People who sign in to the branch server's own pages: the branch managers.

A manager is a person, not a device: the admin token (a bearer credential for scripts and
devices) never opens the manager's page. Each manager has an id and a PIN of
:data:`~signaling.limits.MANAGER_PIN_MIN_DIGITS` to
:data:`~signaling.limits.MANAGER_PIN_MAX_DIGITS` digits, stored as a salted scrypt hash like the
officers' PINs (never the PIN itself). Adding, disabling, enabling and resetting a PIN are each
one transaction with their audit entry (``manager_added``, ``manager_disabled``,
``manager_enabled``, ``manager_pin_reset``).

The store functions run on the store's thread (``AsyncStore.call``); the ``*_offline``
functions open the branch database directly, for ``bilik server manager ...``.
:class:`SignInGuard` is the pure lock-out: wrong PINs for one id within a window lock that id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from signaling import limits
from signaling.errors import SignalingError
from signaling.protocol import DEVICE_ID_RE
from signaling.store import DB_FILE, Store

FEATURE = "people"
T = TypeVar("T")

SCRYPT_N = 2**14  # about 50 ms and 16 MB per check: slow for guessing, fine for signing in
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
MAX_NAME_CHARS = 128
PIN_RE = re.compile(
    rf"\A[0-9]{{{limits.MANAGER_PIN_MIN_DIGITS},{limits.MANAGER_PIN_MAX_DIGITS}}}\Z")

STEPS = [
    """
    CREATE TABLE managers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        salt BLOB NOT NULL,
        pin_hash BLOB NOT NULL,
        created REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    """,
]


class ManagerError(SignalingError):
    """A manager account could not be changed as asked (the message says why)."""


class BadManager(ManagerError, ValueError):
    """A malformed id, PIN or name."""


class ManagerExists(ManagerError):
    pass


class UnknownManager(ManagerError):
    pass


# -- pure pieces ------------------------------------------------------------------------------


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


def check_id(manager_id: object) -> str:
    if not isinstance(manager_id, str) or not DEVICE_ID_RE.fullmatch(manager_id):
        raise BadManager("manager id must be 1-64 lower-case letters, digits or ._- "
                         "(starting with a letter or digit)")
    return manager_id


def check_pin(pin: object) -> str:
    if not isinstance(pin, str) or not PIN_RE.fullmatch(pin):
        raise BadManager(f"a manager's PIN must be {limits.MANAGER_PIN_MIN_DIGITS} to "
                         f"{limits.MANAGER_PIN_MAX_DIGITS} digits")
    return pin


def check_name(name: object) -> str:
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise BadManager(f"name must be printable text of up to {MAX_NAME_CHARS} characters")
    return name


@dataclass
class SignInGuard:
    """Counts wrong PINs per manager id and locks the id out after too many (pure: the time
    is passed in). An unknown id is counted like a known one, so the answer tells nothing."""

    failures: dict[str, list[float]] = field(default_factory=dict)
    locked_until: dict[str, float] = field(default_factory=dict)
    max_failures: int = limits.MANAGER_SIGN_IN_FAILURES
    window_s: float = limits.MANAGER_SIGN_IN_WINDOW_S
    lockout_s: float = limits.MANAGER_LOCKOUT_S

    def locked(self, who: str, now: float) -> float:
        """Seconds ``who`` is still locked out (0: may try)."""
        left = self.locked_until.get(who, 0.0) - now
        if left <= 0:
            self.locked_until.pop(who, None)
            return 0.0
        return left

    def failed(self, who: str, now: float) -> int:
        """Record a wrong PIN; the tries left before the lock-out (0: locked now)."""
        recent = [t for t in self.failures.get(who, []) if now - t < self.window_s]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self.locked_until[who] = now + self.lockout_s
            self.failures.pop(who, None)
            return 0
        self.failures[who] = recent
        return self.max_failures - len(recent)

    def succeeded(self, who: str) -> None:
        self.failures.pop(who, None)


# -- store functions (on the store's thread) --------------------------------------------------


def migrate(store: Store) -> None:
    store.migrate_feature(FEATURE, STEPS)


def add_manager(store: Store, manager_id: str, pin: str, name: str, now: float,
                actor: str) -> None:
    check_id(manager_id)
    check_pin(pin)
    check_name(name)
    salt = os.urandom(SALT_BYTES)
    digest = hash_pin(pin, salt)

    def work(db: sqlite3.Connection) -> None:
        if db.execute("SELECT 1 FROM managers WHERE id=?", (manager_id,)).fetchone():
            raise ManagerExists(f"manager {manager_id} already exists")
        db.execute("INSERT INTO managers (id, name, salt, pin_hash, created) "
                   "VALUES (?, ?, ?, ?, ?)", (manager_id, name, salt, digest, now))
        store._audit(db, now, actor, "manager_added", manager_id, {"name": name})

    store.transaction(work)


def list_managers(store: Store) -> list[dict[str, Any]]:
    rows = store.execute(
        "SELECT id, name, created, active FROM managers ORDER BY id").fetchall()
    return [{"id": r[0], "name": r[1], "created": r[2], "active": bool(r[3])} for r in rows]


def set_active(store: Store, manager_id: str, active: bool, now: float, actor: str) -> None:
    def work(db: sqlite3.Connection) -> None:
        if not db.execute("UPDATE managers SET active=? WHERE id=?",
                          (int(active), manager_id)).rowcount:
            raise UnknownManager(f"no manager {manager_id}")
        store._audit(db, now, actor, "manager_enabled" if active else "manager_disabled",
                     manager_id, {})

    store.transaction(work)


def reset_pin(store: Store, manager_id: str, pin: str, now: float, actor: str) -> None:
    check_pin(pin)
    salt = os.urandom(SALT_BYTES)
    digest = hash_pin(pin, salt)

    def work(db: sqlite3.Connection) -> None:
        if not db.execute("UPDATE managers SET salt=?, pin_hash=? WHERE id=?",
                          (salt, digest, manager_id)).rowcount:
            raise UnknownManager(f"no manager {manager_id}")
        store._audit(db, now, actor, "manager_pin_reset", manager_id, {})

    store.transaction(work)


def credential(store: Store, manager_id: str) -> tuple[bytes, bytes] | None:
    """An active manager's salt and PIN hash (None: no such active manager)."""
    row = store.execute("SELECT salt, pin_hash FROM managers WHERE id=? AND active=1",
                        (manager_id,)).fetchone()
    return None if row is None else (bytes(row[0]), bytes(row[1]))


def matches(pin: str, stored: tuple[bytes, bytes] | None) -> bool:
    """Whether ``pin`` is the stored one; the same work whether there is one or not. Pure
    and slow (scrypt): the server runs it off the store's thread."""
    if stored is None:
        hash_pin(pin, b"\0" * SALT_BYTES)
        return False
    return hmac.compare_digest(hash_pin(pin, stored[0]), stored[1])


def verify(store: Store, manager_id: str, pin: str) -> bool:
    """Whether an active manager has this PIN (for the command line and tests)."""
    return matches(pin, credential(store, manager_id))


def is_active(store: Store, manager_id: str) -> bool:
    row = store.execute("SELECT active FROM managers WHERE id=?", (manager_id,)).fetchone()
    return bool(row and row[0])


# -- the command line's way in ----------------------------------------------------------------


def offline(data_dir: Path, fn: Callable[..., T], *args: Any) -> T:
    """Run a store function on the branch database directly (``bilik server manager``)."""
    store = Store(data_dir / DB_FILE)
    try:
        migrate(store)
        return fn(store, *args)
    finally:
        store.close()


def add_offline(data_dir: Path, manager_id: str, pin: str, name: str = "",
                actor: str = "cli") -> None:
    offline(data_dir, add_manager, manager_id, pin, name, time.time(), actor)


def disable_offline(data_dir: Path, manager_id: str, actor: str = "cli") -> None:
    offline(data_dir, set_active, manager_id, False, time.time(), actor)


def enable_offline(data_dir: Path, manager_id: str, actor: str = "cli") -> None:
    offline(data_dir, set_active, manager_id, True, time.time(), actor)


def reset_pin_offline(data_dir: Path, manager_id: str, pin: str, actor: str = "cli") -> None:
    offline(data_dir, reset_pin, manager_id, pin, time.time(), actor)


def list_offline(data_dir: Path) -> list[dict[str, Any]]:
    return offline(data_dir, list_managers)
