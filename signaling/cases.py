"""Branch server feature: decisions on claims and the case view.

* Officers, their PINs, skills and sign-ins are :mod:`signaling.officers`; a decision or a
  case action needs the hub's signed-in officer from there.
* ``Decision`` from a hub with a signed-in officer on a booth paired with that hub is
  recorded with the officer's id (and an audit entry) in one transaction, answered with
  ``Verdict(ref=...)`` carrying the claim reference, and the verdict goes to the booth.
* ``Transfer`` and ``Park`` go to the queue feature and are recorded in the case history
  once it accepted them. A pairing made outside the queue (``ServiceRequest``: tests,
  benchmarks), which the queue refuses as not its own, is moved here to the named hub
  (transfer) or only recorded (park).
* ``GET /api/cases/hub`` (hub token) returns the signed-in officer (with their skills) and
  the case of every booth paired with the hub, so a restarted hub restores its console
  from here.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bilik.catalogue import text
from signaling import protocol as p
from signaling.claimdata import ClaimDataError, check_claim
from signaling.errors import ProtocolError
from signaling.officers import get_officer, officer_at
from signaling.pairing import Pairing
from signaling.parking import parked_cases
from signaling.protocol import ErrorCode, Outcome, ReleaseReason, Role
from signaling.roleguard import grant_of
from signaling.store import PairingRecord, Store

if TYPE_CHECKING:
    from signaling.branchqueue import BranchQueue
    from signaling.server import BranchServer, Connection

FEATURE = "cases"

# Named limits of this feature.
CASE_EVENTS_MAX = 200  # events returned per case view

# Outcome codes of a decision and the catalogue key of the next steps told to the booth.
# The codes are the protocol's (signaling.protocol.Outcome), which the officer's console shows.
OUTCOMES: dict[str, str] = {
    Outcome.APPROVED: "officer.next_approved",
    Outcome.REJECTED_DOCUMENTS: "officer.next_rejected_documents",
    Outcome.INCOMPLETE: "officer.next_incomplete",
    Outcome.REFERRED: "officer.next_referred",
}

APPROVED = Outcome.APPROVED  # the outcome that pays: it needs the whole claim data

# Step 1 made the officers' tables too on databases older than signaling.officers, which
# owns them now (and makes them if missing).
STEPS = [
    """
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
    # 2: events name their ticket, so a case keeps its history across pairings (parked and
    # resumed, transferred)
    """
    ALTER TABLE case_events ADD COLUMN ticket TEXT NOT NULL DEFAULT '';
    CREATE INDEX case_events_ticket ON case_events(ticket);
    CREATE INDEX decisions_ticket ON decisions(ticket);
    """,
    # 3: the claim's key data recorded with the decision (signaling.claimdata; JSON)
    """
    ALTER TABLE decisions ADD COLUMN claim TEXT NOT NULL DEFAULT '{}';
    """,
    # 4: whether the booth printed the decision's receipt ('' not reported: no printer, or
    # not yet; 'printed'; 'not_printed' with the printer's reason), signaling.receipts
    """
    ALTER TABLE decisions ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
    ALTER TABLE decisions ADD COLUMN receipt_reason TEXT NOT NULL DEFAULT '';
    """,
]


# -- pure pieces -----------------------------------------------------------------------------


def new_reference(now: float) -> str:
    """A claim reference an officer can read out: date and eight hex digits."""
    return f"KLM-{time.strftime('%Y%m%d', time.localtime(now))}-{uuid.uuid4().hex[:8].upper()}"


# -- store functions (run on the store thread) -------------------------------------------------


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
    claim: dict[str, str] = field(default_factory=dict)  # NIK, name, bank, account


def record_decision(store: Store, d: DecisionRecord) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO decisions (reference, booth, ticket, pairing, hub, officer, outcome, "
            "note, checklist, at, claim) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.reference, d.booth, d.ticket, d.pairing, d.hub, d.officer, d.outcome, d.note,
             json.dumps(d.checklist), d.at, json.dumps(d.claim, sort_keys=True)),
        )
        store._audit(db, d.at, d.officer, "decision", d.booth, {
            "reference": d.reference, "ticket": d.ticket, "outcome": d.outcome,
            "hub": d.hub, "pairing": d.pairing, "checklist": d.checklist, "claim": d.claim})

    store.transaction(work)


def record_event(
    store: Store, pairing: str, booth: str, hub: str, officer: str, kind: str,
    detail: dict[str, Any], now: float, ticket: str = "",
) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO case_events (pairing, booth, hub, officer, kind, detail, at, ticket) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (pairing, booth, hub, officer, kind, json.dumps(detail, sort_keys=True), now, ticket),
        )
        store._audit(db, now, officer or hub, kind, booth,
                     {"pairing": pairing, **({"ticket": ticket} if ticket else {}), **detail})

    store.transaction(work)


def case_view(store: Store, pairing: str, ticket: str = "") -> dict[str, Any]:
    """Decisions and events of one case, oldest first: of the pairing, and of every pairing
    of the same queue ticket (``ticket``; a parked and resumed case keeps its history)."""
    match = "(pairing=? OR (? != '' AND ticket=?))"
    keys = (pairing, ticket, ticket)
    decisions = [
        {"reference": r[0], "ticket": r[1], "officer": r[2], "outcome": r[3], "note": r[4],
         "checklist": json.loads(r[5]), "at": r[6], "claim": json.loads(r[7]),
         "receipt": r[8], "receipt_reason": r[9]}
        for r in store.execute(
            "SELECT reference, ticket, officer, outcome, note, checklist, at, claim, receipt, "
            "receipt_reason "
            "FROM decisions "
            f"WHERE {match} ORDER BY at", keys).fetchall()
    ]
    events = [
        {"kind": r[0], "officer": r[1], "detail": json.loads(r[2]), "at": r[3]}
        for r in store.execute(
            f"SELECT kind, officer, detail, at FROM case_events WHERE {match} "
            "ORDER BY seq DESC LIMIT ?", (*keys, CASE_EVENTS_MAX)).fetchall()
    ]
    events.reverse()
    return {"decisions": decisions, "events": events}


# -- the feature ---------------------------------------------------------------------------------


class Cases:
    def __init__(self, server: BranchServer, queue: BranchQueue | None) -> None:
        self.server = server
        self.queue = queue  # parked cases are the queue's (held booths)

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
        try:
            claim = check_claim(dict(msg.claim), required=msg.outcome == APPROVED,
                                today=dt.date.fromtimestamp(now))
        except ClaimDataError as exc:  # nothing is stored
            raise ProtocolError(ErrorCode.BAD_MESSAGE, exc.message.both()) from None
        record = DecisionRecord(
            reference=new_reference(now), booth=msg.booth, ticket=msg.ticket,
            pairing=pairing.id, hub=conn.device_id, officer=officer, outcome=msg.outcome,
            note=msg.note, checklist=list(msg.checklist), at=now, claim=claim.as_json(),
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
        # A pairing made outside the queue (no ticket) keeps its call either way: parking
        # and resuming it are only recorded.
        current = self.server.book.of_booth(msg.booth)
        direct = current is not None and current.hub == conn.device_id and not current.ticket
        if msg.resume and not direct:
            # A parked queue case has no pairing any more: resuming it makes a new one.
            pairing_id = ""
            held = self.queue.scheduler.booths.get(msg.booth) if self.queue else None
            ticket = (held.ticket or "") if held is not None else ""
        else:
            own = self._own_pairing(conn, msg.booth)
            pairing_id, ticket = own.id, own.ticket
        if queue is not None:
            try:
                await queue(conn, msg)
            except ProtocolError as exc:
                if exc.code != ErrorCode.NOT_PAIRED or not direct:
                    raise
                queue = None  # outside the queue there is nothing to hold: only recorded
        db = self.server.db
        await db.call(record_event, db.sync, pairing_id, msg.booth, conn.device_id, officer,
                      "resume" if msg.resume else "park", {}, self.server.clock(), ticket)
        if queue is None:
            await self.server.send_to(conn.device_id, p.Ok(ref=msg.id))

    async def _record(
        self, conn: Connection, pairing: Pairing, officer: str, kind: str, detail: dict[str, Any]
    ) -> None:
        db = self.server.db
        await db.call(record_event, db.sync, pairing.id, pairing.booth, conn.device_id, officer,
                      kind, detail, self.server.clock(), pairing.ticket)

    # -- HTTP -------------------------------------------------------------------------------

    async def http_hub_view(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.HUB)
        db = self.server.db
        officer = await db.call(officer_at, db.sync, grant.device_id)
        record = None if officer is None else await db.call(get_officer, db.sync, officer)
        booths = {}
        for pairing in self.server.book.of_device(grant.device_id):
            if pairing.hub != grant.device_id:
                continue
            view = await db.call(case_view, db.sync, pairing.id, pairing.ticket)
            booths[pairing.booth] = {"pairing": pairing.id, **view}
        parked = {}
        if self.queue is not None:
            now = self.server.clock()
            for booth, case in parked_cases(self.queue.scheduler, now,
                                            hub=grant.device_id).items():
                view = await db.call(case_view, db.sync, "", case["ticket"])
                parked[booth] = {**case, **view}
        return web.json_response({"hub": grant.device_id, "officer": officer,
                                  "skills": list(record.skills) if record else [],
                                  "booths": booths, "parked": parked,
                                  "outcomes": list(OUTCOMES)})


def setup(app: web.Application, server: Any) -> None:
    """Add decisions, case actions and the case view to the branch server (after the
    officers feature)."""
    from signaling.branchqueue import QUEUE_KEY

    cases = Cases(server, app.get(QUEUE_KEY))
    server.on_start.append(cases.start)
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
    app.router.add_get("/api/cases/hub", cases.http_hub_view)
