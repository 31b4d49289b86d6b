"""Branch server feature: officers and their PINs, decisions on claims, and the case view.

* Officers are stored with a salted scrypt hash of their PIN (never the PIN). An admin
  adds them over HTTP (``POST /api/cases/officers``) or from the command line
  (:func:`add_officer_offline`, for ``bilik server officer add ID``).
* A hub signs its officer in with ``OfficerSignIn`` (reply ``Ok`` or ``Error``); repeated
  wrong PINs from one hub lock that hub out for a while. The sign-in is kept in the
  database, so a restarted server or hub keeps it; the hub signs out over HTTP.
* ``Decision`` from a hub with a signed-in officer on a booth paired with that hub is
  recorded with the officer's id (and an audit entry) in one transaction, answered with
  ``Verdict(ref=...)`` carrying the claim reference, and the verdict goes to the booth.
* ``Transfer`` and ``Park`` go to the queue feature and are recorded in the case history
  once it accepted them. A pairing made outside the queue (``ServiceRequest``: tests,
  benchmarks), which the queue refuses as not its own, is moved here to the named hub
  (transfer) or only recorded (park).
* ``GET /api/cases/hub`` (hub token) returns the signed-in officer and the case of every
  booth paired with the hub, so a restarted hub restores its console from here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bilik.catalogue import text
from signaling import protocol as p
from signaling import tokens
from signaling.errors import ProtocolError
from signaling.officerlist import GUARD_KEY
from signaling.officerlist import add_routes as add_officer_list
from signaling.pairing import Pairing
from signaling.problems import problem
from signaling.protocol import ErrorCode, Outcome, ReleaseReason, Role
from signaling.requestbody import read_json_object
from signaling.roleguard import grant_of
from signaling.signinguard import SignInGuard
from signaling.store import PairingRecord, Store

if TYPE_CHECKING:
    from signaling.server import BranchServer, Connection

FEATURE = "cases"

# Named limits of this feature.
PIN_RE = re.compile(r"\A[0-9]{4,12}\Z")
SCRYPT_N = 2**14  # about 50 ms and 16 MB per check: slow for guessing, fine for signing in
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
CASE_EVENTS_MAX = 200  # events returned per case view

# Outcome codes of a decision and the catalogue key of the next steps told to the booth.
# The codes are the protocol's (signaling.protocol.Outcome), which the officer's console shows.
OUTCOMES: dict[str, str] = {
    Outcome.APPROVED: "officer.next_approved",
    Outcome.REJECTED_DOCUMENTS: "officer.next_rejected_documents",
    Outcome.INCOMPLETE: "officer.next_incomplete",
    Outcome.REFERRED: "officer.next_referred",
}

STEPS = [
    """
    CREATE TABLE officers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        salt BLOB NOT NULL,
        pin_hash BLOB NOT NULL,
        created REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE officer_sessions (
        hub TEXT PRIMARY KEY,
        officer TEXT NOT NULL REFERENCES officers(id),
        since REAL NOT NULL
    );
    CREATE TABLE decisions (
        reference TEXT PRIMARY KEY,
        booth TEXT NOT NULL,
        ticket TEXT NOT NULL,
        pairing TEXT NOT NULL,
        hub TEXT NOT NULL,
        officer TEXT NOT NULL,
        outcome TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        checklist TEXT NOT NULL DEFAULT '[]',
        at REAL NOT NULL
    );
    CREATE INDEX decisions_pairing ON decisions(pairing);
    CREATE TABLE case_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        pairing TEXT NOT NULL,
        booth TEXT NOT NULL,
        hub TEXT NOT NULL,
        officer TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        at REAL NOT NULL
    );
    CREATE INDEX case_events_pairing ON case_events(pairing);
    """,
]


class OfficerExists(ValueError):
    """An officer with this id is already registered."""


# -- pure pieces -----------------------------------------------------------------------------


def hash_pin(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


def check_new_officer(officer_id: str, pin: str) -> None:
    """Raise ValueError saying what is wrong with a new officer's id or PIN."""
    if not isinstance(officer_id, str) or not p.DEVICE_ID_RE.fullmatch(officer_id):
        raise ValueError("officer id must be 1-64 lower-case letters, digits or ._-")
    if not isinstance(pin, str) or not PIN_RE.fullmatch(pin):
        raise ValueError("PIN must be 4 to 12 digits")


def new_reference(now: float) -> str:
    """A claim reference an officer can read out: date and eight hex digits."""
    return f"KLM-{time.strftime('%Y%m%d', time.localtime(now))}-{uuid.uuid4().hex[:8].upper()}"


# -- store functions (run on the store thread) -------------------------------------------------


def add_officer(store: Store, officer_id: str, pin: str, name: str, now: float, actor: str) -> None:
    check_new_officer(officer_id, pin)
    salt = os.urandom(SALT_BYTES)
    digest = hash_pin(pin, salt)

    def work(db: sqlite3.Connection) -> None:
        if db.execute("SELECT 1 FROM officers WHERE id=?", (officer_id,)).fetchone():
            raise OfficerExists(f"officer {officer_id} already exists")
        db.execute(
            "INSERT INTO officers (id, name, salt, pin_hash, created) VALUES (?, ?, ?, ?, ?)",
            (officer_id, name, salt, digest, now),
        )
        store._audit(db, now, actor, "officer_added", officer_id, {"name": name})

    store.transaction(work)


def verify_officer(store: Store, officer_id: str, pin: str) -> bool:
    row = store.execute(
        "SELECT salt, pin_hash FROM officers WHERE id=? AND active=1", (officer_id,)
    ).fetchone()
    if row is None:
        hash_pin(pin, b"\0" * SALT_BYTES)  # same work either way: no timing hint of the id
        return False
    return hmac.compare_digest(hash_pin(pin, bytes(row[0])), bytes(row[1]))


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


@dataclass(frozen=True)
class DecisionRecord:
    reference: str
    booth: str
    ticket: str
    pairing: str
    hub: str
    officer: str
    outcome: str
    note: str
    checklist: list[str]
    at: float


def record_decision(store: Store, d: DecisionRecord) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO decisions (reference, booth, ticket, pairing, hub, officer, outcome, "
            "note, checklist, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.reference, d.booth, d.ticket, d.pairing, d.hub, d.officer, d.outcome, d.note,
             json.dumps(d.checklist), d.at),
        )
        store._audit(db, d.at, d.officer, "decision", d.booth, {
            "reference": d.reference, "ticket": d.ticket, "outcome": d.outcome,
            "hub": d.hub, "pairing": d.pairing, "checklist": d.checklist})

    store.transaction(work)


def record_event(
    store: Store, pairing: str, booth: str, hub: str, officer: str, kind: str,
    detail: dict[str, Any], now: float,
) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO case_events (pairing, booth, hub, officer, kind, detail, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (pairing, booth, hub, officer, kind, json.dumps(detail, sort_keys=True), now),
        )
        store._audit(db, now, officer or hub, kind, booth, {"pairing": pairing, **detail})

    store.transaction(work)


def case_view(store: Store, pairing: str) -> dict[str, Any]:
    """Decisions and events of one pairing's case, oldest first."""
    decisions = [
        {"reference": r[0], "ticket": r[1], "officer": r[2], "outcome": r[3], "note": r[4],
         "checklist": json.loads(r[5]), "at": r[6]}
        for r in store.execute(
            "SELECT reference, ticket, officer, outcome, note, checklist, at FROM decisions "
            "WHERE pairing=? ORDER BY at", (pairing,)).fetchall()
    ]
    events = [
        {"kind": r[0], "officer": r[1], "detail": json.loads(r[2]), "at": r[3]}
        for r in store.execute(
            "SELECT kind, officer, detail, at FROM case_events WHERE pairing=? "
            "ORDER BY seq DESC LIMIT ?", (pairing, CASE_EVENTS_MAX)).fetchall()
    ]
    events.reverse()
    return {"decisions": decisions, "events": events}


def add_officer_offline(data_dir: Path, officer_id: str, pin: str, name: str = "",
                        actor: str = "cli") -> None:
    """Add an officer straight to a branch database (``bilik server officer add ID``).

    Raises ValueError (bad id or PIN), :class:`OfficerExists`, or the store's StoreError.
    """
    from signaling.store import DB_FILE

    store = Store(data_dir / DB_FILE)
    try:
        store.migrate_feature(FEATURE, STEPS)
        add_officer(store, officer_id, pin, name, time.time(), actor)
    finally:
        store.close()


# -- the feature ---------------------------------------------------------------------------------


class Cases:
    def __init__(self, server: BranchServer) -> None:
        self.server = server
        self.guard = SignInGuard.new()

    async def start(self) -> None:
        await self.server.db.call(self.server.db.sync.migrate_feature, FEATURE, STEPS)

    def _own_pairing(self, conn: Connection, booth: str) -> Pairing:
        pairing = self.server.book.of_booth(booth)
        if pairing is None or pairing.hub != conn.device_id:
            raise ProtocolError(ErrorCode.NOT_PAIRED, f"booth {booth} is not paired with this hub")
        return pairing

    async def _officer(self, conn: Connection) -> str:
        db = self.server.db
        officer = await db.call(officer_at, db.sync, conn.device_id)
        if officer is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, "no officer is signed in at this hub")
        return officer

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
        if not await db.call(verify_officer, db.sync, msg.officer, msg.pin):
            locked = self.guard.failed(hub, now, msg.officer)
            await db.call(db.sync.audit, now, hub, "officer_sign_in_failed", msg.officer,
                          {"hub_locked": locked})
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "unknown officer or wrong PIN")
        self.guard.succeeded(hub)
        await db.call(sign_in, db.sync, hub, msg.officer, now)
        await self.server.send_to(hub, p.Ok(ref=msg.id))

    async def on_decision(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Decision)
        if msg.outcome not in OUTCOMES:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"outcome {msg.outcome!r} is not one of {', '.join(OUTCOMES)}",
            )
        officer = await self._officer(conn)
        pairing = self._own_pairing(conn, msg.booth)
        # The decision is the session's: it names the session's ticket (or, outside the
        # queue, the pairing), never another participant's.
        session_keys = {pairing.ticket} if pairing.ticket else {pairing.id,
                                                                f"pairing:{pairing.id}"}
        if msg.ticket not in session_keys:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                f"ticket {msg.ticket[:40]!r} is not the one served at {msg.booth}; "
                f"this session's is {sorted(session_keys)[0]!r}",
            )
        now = self.server.clock()
        record = DecisionRecord(
            reference=new_reference(now), booth=msg.booth, ticket=msg.ticket,
            pairing=pairing.id, hub=conn.device_id, officer=officer, outcome=msg.outcome,
            note=msg.note, checklist=list(msg.checklist), at=now,
        )
        db = self.server.db
        await db.call(record_decision, db.sync, record)
        next_steps = text(OUTCOMES[msg.outcome]).both()
        verdict = dict(ticket=msg.ticket, reference=record.reference, outcome=msg.outcome,
                       next_steps=next_steps)
        await self.server.send_to(conn.device_id, p.Verdict(ref=msg.id, **verdict))
        await self.server.send_to(msg.booth, p.Verdict(**verdict))

    async def on_transfer(
        self, conn: Connection, msg: p.Message, queue: Callable[..., Awaitable[None]] | None
    ) -> None:
        assert isinstance(msg, p.Transfer)
        officer = await self._officer(conn)
        pairing = self._own_pairing(conn, msg.booth)
        server = self.server
        if msg.to_hub == conn.device_id:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "cannot transfer a booth to its own hub")
        if queue is not None:
            try:
                await queue(conn, msg)
            except ProtocolError as exc:
                if exc.code != ErrorCode.NOT_PAIRED:
                    raise
                queue = None  # a pairing made outside the queue (ServiceRequest): move it here
            else:
                await self._record(conn, pairing, officer, "transfer", {"to_hub": msg.to_hub})
                return
        if queue is None:
            target = server.book.hubs.get(msg.to_hub) if msg.to_hub else None
            if target is None or not target.online or target.free <= 0:
                raise ProtocolError(
                    ErrorCode.NO_CAPACITY,
                    f"hub {msg.to_hub or '(any)'} is not online with a free slot"
                    + ("" if msg.to_hub else "; name the officer's hub"),
                )
        await self._record(conn, pairing, officer, "transfer", {"to_hub": msg.to_hub})
        await server.send_to(conn.device_id, p.Ok(ref=msg.id))
        await server.release(pairing.id, ReleaseReason.DONE, actor=officer)
        moved = Pairing(f"p-{uuid.uuid4().hex[:12]}", msg.booth, msg.to_hub)
        server.book.add(moved)
        await server.db.call(server.db.sync.add_pairing,
                             PairingRecord(moved.id, moved.booth, moved.hub, server.clock()),
                             actor=officer)
        announce = p.Pair(pairing=moved.id, booth=moved.booth, hub=moved.hub)
        for device in (moved.booth, moved.hub):
            await server.send_to(device, announce)

    async def on_park(
        self, conn: Connection, msg: p.Message, queue: Callable[..., Awaitable[None]] | None
    ) -> None:
        assert isinstance(msg, p.Park)
        officer = await self._officer(conn)
        # A parked case has no pairing any more: resuming it is what makes a new one.
        pairing_id = "" if msg.resume else self._own_pairing(conn, msg.booth).id
        if queue is not None:
            try:
                await queue(conn, msg)
            except ProtocolError as exc:
                if exc.code != ErrorCode.NOT_PAIRED or msg.resume:
                    raise
                queue = None  # outside the queue there is nothing to hold: only recorded
        db = self.server.db
        await db.call(record_event, db.sync, pairing_id, msg.booth, conn.device_id, officer,
                      "resume" if msg.resume else "park", {}, self.server.clock())
        if queue is None:
            await self.server.send_to(conn.device_id, p.Ok(ref=msg.id))

    async def _record(
        self, conn: Connection, pairing: Pairing, officer: str, kind: str, detail: dict[str, Any]
    ) -> None:
        db = self.server.db
        await db.call(record_event, db.sync, pairing.id, pairing.booth, conn.device_id, officer,
                      kind, detail, self.server.clock())

    # -- HTTP -------------------------------------------------------------------------------

    def _grant(self, request: web.Request, role: Role) -> tokens.Grant:
        return grant_of(request, role)

    async def http_add_officer(self, request: web.Request) -> web.Response:
        grant = self._grant(request, Role.ADMIN)
        body = await read_json_object(request, fields="id, pin, name")
        officer_id, pin, name = body.get("id"), body.get("pin"), body.get("name", "")
        if not isinstance(name, str) or len(name) > 128:
            raise _http_error(400, "bad_request", "name must be a string of up to 128 characters")
        db = self.server.db
        try:
            await db.call(add_officer, db.sync, officer_id, pin, name, self.server.clock(),
                          grant.device_id)
        except OfficerExists as exc:
            raise _http_error(409, "exists", str(exc)) from None
        except ValueError as exc:
            raise _http_error(400, "bad_request", str(exc)) from None
        return web.json_response({"officer": officer_id}, status=201)

    async def http_hub_view(self, request: web.Request) -> web.Response:
        grant = self._grant(request, Role.HUB)
        db = self.server.db
        officer = await db.call(officer_at, db.sync, grant.device_id)
        booths = {}
        for pairing in self.server.book.of_device(grant.device_id):
            if pairing.hub != grant.device_id:
                continue
            view = await db.call(case_view, db.sync, pairing.id)
            booths[pairing.booth] = {"pairing": pairing.id, **view}
        return web.json_response({"hub": grant.device_id, "officer": officer, "booths": booths,
                                  "outcomes": list(OUTCOMES)})

    async def http_sign_out(self, request: web.Request) -> web.Response:
        grant = self._grant(request, Role.HUB)
        db = self.server.db
        officer = await db.call(sign_out, db.sync, grant.device_id, self.server.clock())
        return web.json_response({"signed_out": officer})


_http_error = problem  # the server's one problem-JSON helper


def setup(app: web.Application, server: Any) -> None:
    """Add officers, sign-in, decisions and the case view to the branch server."""
    cases = Cases(server)
    server.on_start.append(cases.start)
    server.handlers[p.OfficerSignIn.TYPE] = cases.on_sign_in
    server.handlers[p.Decision.TYPE] = cases.on_decision
    # The queue feature (set up before this one) may serve Transfer and Park; the case
    # history records them first and then hands them on.
    queue_transfer = server.handlers.get(p.Transfer.TYPE)
    queue_park = server.handlers.get(p.Park.TYPE)

    async def transfer(conn: Connection, msg: p.Message) -> None:
        await cases.on_transfer(conn, msg, queue_transfer)

    async def park(conn: Connection, msg: p.Message) -> None:
        await cases.on_park(conn, msg, queue_park)

    server.handlers[p.Transfer.TYPE] = transfer
    server.handlers[p.Park.TYPE] = park
    app[GUARD_KEY] = cases.guard  # the locks, in the officers list (signaling.officerlist)
    add_officer_list(app, server)
    app.router.add_post("/api/cases/officers", cases.http_add_officer)
    app.router.add_get("/api/cases/hub", cases.http_hub_view)
    app.router.add_post("/api/cases/sign-out", cases.http_sign_out)
