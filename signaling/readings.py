"""What OCR read from each stored document (the NIK, the name, the family card's rows), and
the mismatches between a claim's documents, for the officer's console.

API (device tokens as for documents):

- ``POST /api/documents/{document}/reading`` (the booth that uploaded it) with
  ``{"nik": "3171...", "name": "SITI RAHAYU", "confidence": 91.5, "people": [{"nik", "name",
  "confidence"}], "problems": ["nik_invalid: ..."]}``: stored (replacing an earlier one).
- ``GET /api/readings?ticket=T`` (the hub serving the ticket): ``{"ticket", "service",
  "readings": [{"document", "kind", "nik", "name", "confidence", "people", "problems",
  "at"}], "flags": [{"kind", "detail"}]}``; the flags are computed from the readings and the
  claim's service (:func:`bilik.documents.crosscheck.mismatches`): the KTP's NIK not on the
  family card, another NIK or name on a card, a holder too young for a pension claim.

Bad input is a 400 naming the field; records stay as they were. The table and its records are
:mod:`signaling.readingrecords`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web

from bilik.documents.crosscheck import mismatches
from signaling.documentrecords import ID_RE, get_document, list_documents
from signaling.documents import DOCUMENTS_KEY
from signaling.problems import problem
from signaling.protocol import Role
from signaling.readingrecords import STEPS, Row, StoredReading, readings_of, store_reading
from signaling.roleguard import grant_of
from signaling.server import BranchServer

MAX_NAME = 80
MAX_PEOPLE = 12  # a family card lists at most ten or so members
MAX_PROBLEMS = 10
MAX_PROBLEM = 300
NIK_RE = re.compile(r"^[0-9]{0,16}\Z")


def _text(body: dict[str, Any], key: str, limit: int, pattern: re.Pattern[str] | None = None
          ) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (pattern and not pattern.match(value)):
        raise problem(400, "bad_request", f"{key} must be text of at most {limit} characters"
                       + (" (digits only)" if pattern else ""))
    return value


def _confidence(body: dict[str, Any], key: str = "confidence") -> float:
    value = body.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise problem(400, "bad_request", f"{key} must be a number from 0 to 100")
    return float(value)


def parse_reading(body: Any) -> tuple[str, str, float, list[Row], list[str]]:
    """The fields of a posted reading, or a 400 naming the one that is wrong."""
    if not isinstance(body, dict):
        raise problem(400, "bad_request", "body must be a JSON object")
    nik = _text(body, "nik", 16, NIK_RE)
    name = _text(body, "name", MAX_NAME)
    confidence = _confidence(body)
    people_in = body.get("people", [])
    if not isinstance(people_in, list) or len(people_in) > MAX_PEOPLE:
        raise problem(400, "bad_request", f"people must be a list of at most {MAX_PEOPLE}")
    people = []
    for row in people_in:
        if not isinstance(row, dict):
            raise problem(400, "bad_request", "each of people must be an object")
        people.append(Row(_text(row, "nik", 16, NIK_RE), _text(row, "name", MAX_NAME),
                          _confidence(row)))
    problems = body.get("problems", [])
    if not isinstance(problems, list) or len(problems) > MAX_PROBLEMS or not all(
            isinstance(p, str) and len(p) <= MAX_PROBLEM for p in problems):
        raise problem(400, "bad_request",
                       f"problems must be at most {MAX_PROBLEMS} texts of {MAX_PROBLEM}")
    return nik, name, confidence, people, problems


class Readings:
    def __init__(self, server: BranchServer, app: web.Application) -> None:
        self.server = server
        self.app = app

    async def start(self) -> None:
        db = self.server.db
        await db.call(db.sync.migrate_feature, "readings", STEPS)

    async def post(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.BOOTH)
        doc_id = request.match_info["document"]
        db = self.server.db
        record = await db.call(get_document, db.sync, doc_id) if ID_RE.match(doc_id) else None
        if record is None or record.booth != grant.device_id:
            raise problem(404, "unknown_document", f"no document {doc_id[:40]!r} of this booth")
        try:
            body = await request.json()
        except ValueError:
            raise problem(400, "bad_request", "body must be JSON") from None
        nik, name, confidence, people, problems = parse_reading(body)
        reading = StoredReading(record.id, record.ticket, record.kind, nik, name, confidence,
                                people, problems, self.server.clock())
        await db.call(store_reading, db.sync, reading)
        return web.json_response({"document": record.id, "stored": True})

    async def get(self, request: web.Request) -> web.Response:
        docs = self.app[DOCUMENTS_KEY]
        grant = grant_of(request, Role.HUB)
        ticket = request.query.get("ticket", "")
        if not ticket or len(ticket) > 80:
            raise problem(400, "bad_request", "query parameter ticket= is required")
        db = self.server.db
        records = await db.call(list_documents, db.sync, ticket)
        visible = {r.id for r in records
                   if docs.hub_may_see(grant.device_id, r.booth, r.pairing, r.ticket)}
        if records and not visible:
            raise problem(403, "forbidden", "only the hub serving this ticket may read it")
        readings = [r for r in await db.call(readings_of, db.sync, ticket)
                    if r.document in visible]
        latest = {r.kind: r for r in readings}  # a document scanned again replaces the first
        service = self._service(ticket, records[0].booth if records else "")
        today = dt.datetime.fromtimestamp(self.server.clock()).date()
        flags = mismatches(latest, service=service, today=today)
        return web.json_response({
            "ticket": ticket, "service": service,
            "readings": [r.to_json() for r in readings],
            "flags": [f.as_json() for f in flags]})

    def _service(self, ticket: str, booth: str) -> str:
        pairing = self.server.book.of_booth(booth) if booth else None
        return str(getattr(pairing, "service", "") or "")


def setup(app: web.Application, server: BranchServer) -> None:
    """Add the readings table and routes (after :mod:`signaling.documents`)."""
    readings = Readings(server, app)
    server.on_start.append(readings.start)
    app.router.add_post("/api/documents/{document}/reading", readings.post)
    app.router.add_get("/api/readings", readings.get)
