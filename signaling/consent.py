"""Branch server feature: the participant's consent to the recording, kept with the case.

The booth asks before the officer joins (:mod:`booth.consent`) and sends the answer as
:class:`~signaling.protocol.Consent`: the ticket, the version of the words shown, accepted
or refused, and when. The server stores it (table ``consents``, one row per answer; the
latest answer of a ticket is its consent), writes an audit entry, acknowledges with
``Ok``, and tells the booth's hub, adding the branch's setting ``recording``:

* ``required``: a refusal is told to the officer, who decides whether to go on;
* ``optional``: a refusal means the session goes on without recording.

The record is a small JSON-able dict (:meth:`ConsentRecord.to_json`), what the evidence
bundle holds as ``consent.json``::

    {"ticket": "A001", "booth": "booth-01", "wording": "2026-12.1", "accepted": true,
     "at": "2026-12-07T06:01:02.125Z", "required": false}

``GET /api/consents?ticket=`` (the hub that served the ticket, or an admin) answers the
latest record of a ticket; :func:`signaling.consentrecords.consent_of` is the same read for
other features (the evidence bundle).
"""

from __future__ import annotations

import logging
import math

from aiohttp import web

from bilik.catalogue.consent import WORDINGS
from signaling import protocol as p
from signaling.consentrecords import STEPS, ConsentRecord, consent_of, record_consent
from signaling.errors import ProtocolError
from signaling.policy import allow_type
from signaling.problems import problem
from signaling.protocol import ErrorCode, Role
from signaling.roleguard import grant_of
from signaling.server import BranchServer, Connection

__all__ = ["POLICIES", "ConsentRecord", "Consents", "consent_of", "setup"]

log = logging.getLogger(__name__)

REQUIRED = "required"
OPTIONAL = "optional"
POLICIES = (REQUIRED, OPTIONAL)
# An answer stamped further than this from the server's clock is stored with the server's
# time instead (a booth whose clock is wrong must not date the case).
MAX_CLOCK_SKEW_S = 300.0


class Consents:
    def __init__(self, server: BranchServer, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(f"recording must be one of {', '.join(POLICIES)}, not {policy!r}")
        self.server = server
        self.required = policy == REQUIRED

    async def start(self) -> None:
        db = self.server.db
        await db.call(db.sync.migrate_feature, "consent", STEPS)

    async def on_consent(self, conn: Connection, msg: p.Message) -> None:
        if not isinstance(msg, p.Consent):  # pragma: no cover - registered for Consent
            return
        if conn.role is not Role.BOOTH:
            raise ProtocolError(ErrorCode.FORBIDDEN, "only a booth gives a participant's consent")
        if msg.wording not in WORDINGS:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"no consent wording {msg.wording[:32]!r}"
                                f"; this branch knows {', '.join(WORDINGS)}")
        server = self.server
        pairing = server.book.pairings.get(msg.pairing)
        if pairing is None or pairing.booth != conn.device_id or pairing.hub != msg.peer:
            raise ProtocolError(ErrorCode.NOT_PAIRED, f"{conn.device_id} is not paired with "
                                f"{msg.peer} in pairing {msg.pairing}")
        ticket = pairing.ticket or f"pairing:{pairing.id}"
        if msg.ticket and pairing.ticket and msg.ticket != pairing.ticket:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"ticket {msg.ticket} is not the one "
                                f"served in pairing {msg.pairing}")
        now = server.clock()
        at = msg.at if math.isfinite(msg.at) and abs(msg.at - now) <= MAX_CLOCK_SKEW_S else now
        record = ConsentRecord(ticket, conn.device_id, pairing.id, pairing.hub, msg.wording,
                               msg.accepted, at, self.required)
        db = server.db
        await db.call(record_consent, db.sync, record, now)
        log.info("consent", extra={"fields": {"ticket": ticket, "booth": conn.device_id,
                                              "accepted": msg.accepted,
                                              "wording": msg.wording}})
        await server.send_to(conn.device_id, p.Ok(ref=msg.id))
        await server.send_to(pairing.hub, p.Consent(
            peer=conn.device_id, pairing=pairing.id, ticket=ticket, wording=msg.wording,
            accepted=msg.accepted, at=at, required=self.required))

    async def http_consent(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.HUB, Role.ADMIN, purpose="a participant's consent")
        ticket = request.query.get("ticket", "")
        if not ticket or len(ticket) > 80:
            raise problem(400, "bad_request", "query parameter ticket= is required")
        db = self.server.db
        record = await db.call(consent_of, db.sync, ticket)
        if record is None:
            raise problem(404, "no_consent", f"no consent was given for ticket {ticket!r}")
        if grant.role is Role.HUB and record.hub != grant.device_id:
            raise problem(403, "forbidden", "only the hub that served this ticket may read it")
        return web.json_response(record.to_json())


def setup(app: web.Application, server: BranchServer) -> None:
    """Add the consents table, the booth's Consent message and the read API."""
    consents = Consents(server, server.config.recording)
    server.on_start.append(consents.start)
    server.handlers[p.Consent.TYPE] = consents.on_consent
    allow_type(Role.BOOTH, p.Consent.TYPE)
    app.router.add_get("/api/consents", consents.http_consent)
