"""Branch server feature: the officers, their PINs, skills and sign-ins.

* An officer is a record (:class:`OfficerRecord`): id, name, status (active or disabled),
  skills (the queue's service codes they serve; empty: every service) and a salted scrypt
  hash of the PIN (never the PIN). Admins manage them from the command line
  (``bilik server officer add | list | disable | enable | reset-pin | skills``, through
  :func:`offline`) or add one over HTTP (``POST /api/cases/officers``). Every change is
  audited, with who made it.
* A hub signs its officer in with ``OfficerSignIn`` (reply ``Ok`` or ``Error``). Wrong PINs
  from one hub lock that hub out (:mod:`signaling.signinguard`: five within five minutes,
  for five minutes; the manager sees the lock in ``GET /api/officers``, :mod:`signaling.
  officerlist`); a disabled officer is told so (once the PIN is right). The
  sign-in is kept in the database, so a restarted server or hub keeps it; the hub signs out
  over HTTP (``POST /api/cases/sign-out``). Disabling an officer signs them out everywhere.
* Skills reach routing through the hub's ``Capacity``: the hub sends its officer's skills
  (it reads them from ``GET /api/cases/hub`` at sign-in), and the server, which is the
  truth, puts the signed-in officer's recorded skills in its place before the queue sees
  it (:meth:`Officers.on_capacity`).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import json
import os
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from signaling import protocol as p
from signaling.errors import ProtocolError
from signaling.problems import problem
from signaling.protocol import ErrorCode, Role
from signaling.requestbody import read_json_object
from signaling.roleguard import grant_of
from signaling.signinguard import SIGN_IN_FAILURES as SIGN_IN_FAILURES  # also officers.*
from signaling.signinguard import SIGN_IN_LOCKOUT_S as SIGN_IN_LOCKOUT_S
from signaling.signinguard import SIGN_IN_WINDOW_S as SIGN_IN_WINDOW_S
from signaling.signinguard import SignInGuard
from signaling.store import Store

if TYPE_CHECKING:
    from signaling.server import BranchServer, Connection

FEATURE = "officers"

# Named limits of this feature.
PIN_RE = re.compile(r"\A[0-9]{4,12}\Z")
SKILL_RE = re.compile(r"\A[a-z][a-z0-9_-]{0,31}\Z")
MAX_SKILLS = 16  # as many as a Capacity message carries
MAX_NAME_CHARS = 128
SCRYPT_N = 2**14  # about 50 ms and 16 MB per check: slow for guessing, fine for signing in
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16

# The officers' tables were made by the cases feature's first step on databases older than
# this module: hence IF NOT EXISTS here, and the cases feature no longer makes them.
STEPS = [
    """
    CREATE TABLE IF NOT EXISTS officers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        salt BLOB NOT NULL,
        pin_hash BLOB NOT NULL,
        created REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE IF NOT EXISTS officer_sessions (
        hub TEXT PRIMARY KEY,
        officer TEXT NOT NULL REFERENCES officers(id),
        since REAL NOT NULL
    );
    """,
    # 2: skills, the queue's service codes the officer serves (JSON list; empty: all)
    """
    ALTER TABLE officers ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
    """,
]


class OfficerStatus(enum.StrEnum):
    ACTIVE = "active"  # may sign in
    DISABLED = "disabled"  # kept for the records; cannot sign in


class SignInResult(enum.StrEnum):
    OK = "ok"
    WRONG = "wrong"  # unknown officer or wrong PIN (one answer: no hint which)
    DISABLED = "disabled"  # the PIN is right, the officer is disabled


class OfficerError(ValueError):
    """An officer cannot be added or changed as asked; the message says why."""


class OfficerExists(OfficerError):
    """An officer with this id is already registered."""


class UnknownOfficer(OfficerError):
    """No officer has this id."""


@dataclass(frozen=True)
class OfficerRecord:
    id: str
    name: str
    status: OfficerStatus
    skills: tuple[str, ...]  # empty: every service
    created: float

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status.value,
                "skills": list(self.skills), "created": self.created}


# -- pure pieces -----------------------------------------------------------------------------


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


def check_id(officer_id: object) -> str:
    if not isinstance(officer_id, str) or not p.DEVICE_ID_RE.fullmatch(officer_id):
        raise OfficerError("officer id must be 1-64 lower-case letters, digits or ._-")
    return officer_id


def check_pin(pin: object) -> str:
    if not isinstance(pin, str) or not PIN_RE.fullmatch(pin):
        raise OfficerError("PIN must be 4 to 12 digits")
    return pin


def check_new_officer(officer_id: str, pin: str) -> None:
    """Raise :class:`OfficerError` saying what is wrong with a new officer's id or PIN."""
    check_id(officer_id)
    check_pin(pin)


def check_skills(skills: object, services: list[str] | None) -> tuple[str, ...]:
    """The skills as stored (sorted, no repeats), or :class:`OfficerError` naming the bad one.

    ``services`` are the queue's service codes when known (the CLI reads them from the
    branch's configuration); a skill must be one of them.
    """
    if not isinstance(skills, list | tuple) or not all(isinstance(s, str) for s in skills):
        raise OfficerError("skills must be a list of service codes")
    if len(skills) > MAX_SKILLS:
        raise OfficerError(f"at most {MAX_SKILLS} skills")
    for skill in skills:
        if not SKILL_RE.fullmatch(skill):
            raise OfficerError(f"skill {skill[:40]!r} is not a service code (e.g. jht)")
        if services is not None and skill not in services:
            raise OfficerError(f"skill {skill!r} is no service of this branch; "
                               f"services: {', '.join(services)}")
    return tuple(sorted(set(skills)))


def parse_skills(text: str, services: list[str] | None) -> tuple[str, ...]:
    """``"jht,jp"`` -> ``("jht", "jp")``; ``"all"`` or ``""`` -> every service (empty)."""
    if text.strip().lower() in ("", "all", "*"):
        return ()
    return check_skills([s.strip().lower() for s in text.split(",") if s.strip()], services)


# -- store functions (run on the store thread) -------------------------------------------------


def _record(row: tuple[Any, ...]) -> OfficerRecord:
    return OfficerRecord(
        id=str(row[0]), name=str(row[1]),
        status=OfficerStatus.ACTIVE if row[2] else OfficerStatus.DISABLED,
        skills=tuple(json.loads(row[3])), created=float(row[4]))


def add_officer(store: Store, officer_id: str, pin: str, name: str, now: float, actor: str,
                skills: tuple[str, ...] = ()) -> None:
    check_new_officer(officer_id, pin)
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise OfficerError(f"name must be text of up to {MAX_NAME_CHARS} characters")
    skills = check_skills(list(skills), None)
    salt = os.urandom(SALT_BYTES)
    digest = hash_pin(pin, salt)

    def work(db: sqlite3.Connection) -> None:
        if db.execute("SELECT 1 FROM officers WHERE id=?", (officer_id,)).fetchone():
            raise OfficerExists(f"officer {officer_id} already exists")
        db.execute(
            "INSERT INTO officers (id, name, salt, pin_hash, created, skills) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (officer_id, name, salt, digest, now, json.dumps(list(skills))),
        )
        store._audit(db, now, actor, "officer_added", officer_id,
                     {"name": name, "skills": list(skills)})

    store.transaction(work)


def list_officers(store: Store) -> list[OfficerRecord]:
    rows = store.execute(
        "SELECT id, name, active, skills, created FROM officers ORDER BY id").fetchall()
    return [_record(tuple(r)) for r in rows]


def get_officer(store: Store, officer_id: str) -> OfficerRecord | None:
    row = store.execute("SELECT id, name, active, skills, created FROM officers WHERE id=?",
                        (officer_id,)).fetchone()
    return None if row is None else _record(tuple(row))


def _change(store: Store, officer_id: str, now: float, actor: str, action: str,
            sql: str, params: tuple[Any, ...], detail: dict[str, Any]) -> None:
    def work(db: sqlite3.Connection) -> None:
        if not db.execute("SELECT 1 FROM officers WHERE id=?", (officer_id,)).fetchone():
            raise UnknownOfficer(f"no officer {officer_id}")
        db.execute(sql, (*params, officer_id))
        if action == "officer_disabled":
            # Nobody acts in a disabled officer's name, at any hub, from now on.
            for (hub,) in db.execute("SELECT hub FROM officer_sessions WHERE officer=?",
                                     (officer_id,)).fetchall():
                store._audit(db, now, actor, "officer_sign_out", hub,
                             {"officer": officer_id, "because": "disabled"})
            db.execute("DELETE FROM officer_sessions WHERE officer=?", (officer_id,))
        store._audit(db, now, actor, action, officer_id, detail)

    store.transaction(work)


def set_status(store: Store, officer_id: str, status: OfficerStatus, now: float,
               actor: str) -> None:
    action = "officer_enabled" if status is OfficerStatus.ACTIVE else "officer_disabled"
    _change(store, officer_id, now, actor, action, "UPDATE officers SET active=? WHERE id=?",
            (1 if status is OfficerStatus.ACTIVE else 0,), {})


def reset_pin(store: Store, officer_id: str, pin: str, now: float, actor: str) -> None:
    check_pin(pin)
    salt = os.urandom(SALT_BYTES)
    _change(store, officer_id, now, actor, "officer_pin_reset",
            "UPDATE officers SET salt=?, pin_hash=? WHERE id=?", (salt, hash_pin(pin, salt)), {})


def set_skills(store: Store, officer_id: str, skills: tuple[str, ...], now: float,
               actor: str) -> None:
    skills = check_skills(list(skills), None)
    _change(store, officer_id, now, actor, "officer_skills",
            "UPDATE officers SET skills=? WHERE id=?", (json.dumps(list(skills)),),
            {"skills": list(skills)})


def verify_officer(store: Store, officer_id: str, pin: str) -> SignInResult:
    row = store.execute(
        "SELECT salt, pin_hash, active FROM officers WHERE id=?", (officer_id,)
    ).fetchone()
    if row is None:
        hash_pin(pin, b"\0" * SALT_BYTES)  # same work either way: no timing hint of the id
        return SignInResult.WRONG
    if not hmac.compare_digest(hash_pin(pin, bytes(row[0])), bytes(row[1])):
        return SignInResult.WRONG
    return SignInResult.OK if row[2] else SignInResult.DISABLED


def sign_in(store: Store, hub: str, officer_id: str, now: float) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO officer_sessions (hub, officer, since) VALUES (?, ?, ?) "
            "ON CONFLICT(hub) DO UPDATE SET officer=excluded.officer, since=excluded.since",
            (hub, officer_id, now),
        )
        store._audit(db, now, officer_id, "officer_sign_in", hub, {})

    store.transaction(work)


def sign_out(store: Store, hub: str, now: float) -> str | None:
    def work(db: sqlite3.Connection) -> str | None:
        row = db.execute("SELECT officer FROM officer_sessions WHERE hub=?", (hub,)).fetchone()
        if row is None:
            return None
        db.execute("DELETE FROM officer_sessions WHERE hub=?", (hub,))
        store._audit(db, now, row[0], "officer_sign_out", hub, {})
        return str(row[0])

    return store.transaction(work)


def officer_at(store: Store, hub: str) -> str | None:
    row = store.execute("SELECT officer FROM officer_sessions WHERE hub=?", (hub,)).fetchone()
    return None if row is None else str(row[0])


@contextlib.contextmanager
def offline(data_dir: Path) -> Iterator[Store]:
    """The branch database opened directly, with the officers' tables (``bilik server
    officer ...``: the server may be stopped or running; SQLite serialises the writes)."""
    from signaling.store import DB_FILE

    store = Store(data_dir / DB_FILE)
    try:
        store.migrate_feature(FEATURE, STEPS)
        yield store
    finally:
        store.close()


def add_officer_offline(data_dir: Path, officer_id: str, pin: str, name: str = "",
                        skills: tuple[str, ...] = ()) -> None:
    """Add an officer straight to a branch database (``bilik server officer add ID``).

    Raises :class:`OfficerError` (bad id, PIN or skills; :class:`OfficerExists`) or the
    store's StoreError.
    """
    with offline(data_dir) as store:
        add_officer(store, officer_id, pin, name, time.time(), "cli", skills)


# -- the feature ---------------------------------------------------------------------------------


class Officers:
    def __init__(self, server: BranchServer, services: list[str]) -> None:
        self.server = server
        self.services = services  # the queue's service codes: what a skill may name
        self.guard = SignInGuard.new()

    async def start(self) -> None:
        await self.server.db.call(self.server.db.sync.migrate_feature, FEATURE, STEPS)

    async def on_sign_in(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.OfficerSignIn)
        now = self.server.clock()
        hub = conn.device_id
        wait = self.guard.locked(hub, now)
        if wait > 0:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"too many wrong PINs at this hub; try again in {int(wait) + 1} s",
            )
        db = self.server.db
        result = await db.call(verify_officer, db.sync, msg.officer, msg.pin)
        if result is SignInResult.WRONG:
            locked = self.guard.failed(hub, now, msg.officer)
            await db.call(db.sync.audit, now, hub, "officer_sign_in_failed", msg.officer,
                          {"hub_locked": locked})
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "unknown officer or wrong PIN")
        self.guard.succeeded(hub)
        if result is SignInResult.DISABLED:
            await db.call(db.sync.audit, now, hub, "officer_sign_in_refused", msg.officer,
                          {"because": "disabled"})
            raise ProtocolError(ErrorCode.FORBIDDEN,
                                f"officer {msg.officer} is disabled; ask the branch admin")
        await db.call(sign_in, db.sync, hub, msg.officer, now)
        await self.server.send_to(hub, p.Ok(ref=msg.id))

    async def capacity(self, conn: Connection, msg: p.Capacity) -> p.Capacity:
        """``msg`` with the officer and skills the server knows for this hub: the officer
        signed in here (or none), and that officer's recorded skills (none recorded: the
        hub's own list, empty meaning every service)."""
        db = self.server.db
        officer = await db.call(officer_at, db.sync, conn.device_id)
        if officer is None:
            return replace(msg, officer="") if msg.officer else msg
        record = await db.call(get_officer, db.sync, officer)
        skills = list(record.skills) if record is not None and record.skills else []
        return replace(msg, officer=officer, skills=skills)

    # -- HTTP -------------------------------------------------------------------------------

    async def http_add_officer(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.ADMIN)
        body = await read_json_object(request, fields="id, pin, name, skills")
        officer_id, pin, name = body.get("id"), body.get("pin"), body.get("name", "")
        db = self.server.db
        try:
            skills = check_skills(body.get("skills", []), self.services)
            await db.call(add_officer, db.sync, officer_id, pin, name, self.server.clock(),
                          grant.device_id, skills)
        except OfficerExists as exc:
            raise problem(409, "exists", str(exc)) from None
        except OfficerError as exc:
            raise problem(400, "bad_request", str(exc)) from None
        return web.json_response({"officer": officer_id}, status=201)

    async def http_sign_out(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.HUB)
        db = self.server.db
        officer = await db.call(sign_out, db.sync, grant.device_id, self.server.clock())
        return web.json_response({"signed_out": officer})


OFFICERS_KEY: web.AppKey[Officers] = web.AppKey("bilik_officers")


def setup(app: web.Application, server: Any) -> None:
    """Add officers, sign-in and skills to the branch server (after the queue feature,
    whose Capacity handler it hands the checked message to)."""
    from signaling.branchqueue import QUEUE_KEY

    queue = app.get(QUEUE_KEY)
    officers = Officers(server, list(queue.rules.services) if queue is not None else [])
    app[OFFICERS_KEY] = officers
    server.on_start.append(officers.start)
    server.handlers[p.OfficerSignIn.TYPE] = officers.on_sign_in
    queue_capacity: Callable[[Connection, p.Message], Awaitable[None]] | None = (
        server.handlers.get(p.Capacity.TYPE))

    async def capacity(conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Capacity)
        checked = await officers.capacity(conn, msg)
        if queue_capacity is not None:
            await queue_capacity(conn, checked)

    if queue_capacity is not None:
        server.handlers[p.Capacity.TYPE] = capacity
    app.router.add_post("/api/cases/officers", officers.http_add_officer)
    app.router.add_post("/api/cases/sign-out", officers.http_sign_out)
