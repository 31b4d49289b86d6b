"""Branch server feature: whether the booth printed the decision's receipt.

The booth prints the receipt when the verdict comes. A printer that fails in the middle of a
session (out of paper) lets the session finish: the receipt is shown on the booth's screen,
marked as not printed, and the booth leaves service after the participant has gone
(:mod:`signaling.sessionfaults`). The booth then sends :class:`~signaling.protocol.Receipt`
(its printer's answer for that claim reference); this feature stores it with the decision
(``decisions.receipt``: ``printed`` or ``not_printed``, with the reason) and its audit entry
(``receipt_printed`` / ``receipt_not_printed``, actor the booth), answers ``Ok``, and for a
receipt not printed tells the officer who decided (``Alert`` of kind ``receipt_not_printed``
to the deciding hub). The officer's case (``GET /api/cases/hub``) and the manager's page show
it from there. Only the booth the decision was made at may report its receipt.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from aiohttp import web

from signaling import protocol as p
from signaling.errors import ProtocolError
from signaling.policy import allow_type
from signaling.protocol import ErrorCode, Role

if TYPE_CHECKING:
    from signaling.server import BranchServer, Connection
    from signaling.store import Store

log = logging.getLogger(__name__)

ALERT_KIND = "receipt_not_printed"
PRINTED = "printed"
NOT_PRINTED = "not_printed"


def decided_at(store: Store, reference: str) -> tuple[str, str, str] | None:
    """(booth, ticket, hub) of the decision ``reference``, or ``None``."""
    row = store.execute("SELECT booth, ticket, hub FROM decisions WHERE reference=?",
                        (reference,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def record_receipt(store: Store, reference: str, booth: str, ticket: str, printed: bool,
                   reason: str, now: float) -> None:
    """The flag on the decision and its audit entry, in one transaction."""
    state = PRINTED if printed else NOT_PRINTED

    def work(db: sqlite3.Connection) -> None:
        db.execute("UPDATE decisions SET receipt=?, receipt_reason=? WHERE reference=?",
                   (state, "" if printed else reason, reference))
        store._audit(db, now, booth, f"receipt_{state}", booth, {
            "reference": reference, "ticket": ticket,
            **({} if printed else {"reason": reason})})

    store.transaction(work)


class Receipts:
    def __init__(self, server: BranchServer) -> None:
        self.server = server

    async def on_receipt(self, conn: Connection, msg: p.Message) -> None:
        if not isinstance(msg, p.Receipt):  # pragma: no cover - registered for Receipt
            return
        if conn.role is not Role.BOOTH:
            raise ProtocolError(ErrorCode.FORBIDDEN, "only a booth reports its receipt")
        db = self.server.db
        decided = await db.call(decided_at, db.sync, msg.reference)
        if decided is None:
            raise ProtocolError(ErrorCode.BAD_MESSAGE,
                                f"no decision {msg.reference[:64]!r} to print a receipt of")
        booth, ticket, hub = decided
        if booth != conn.device_id:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"claim {msg.reference} was decided at "
                                f"{booth}, not at {conn.device_id}")
        reason = " ".join(msg.reason.split()) or "the printer did not print"
        await db.call(record_receipt, db.sync, msg.reference, booth, ticket, msg.printed,
                      reason, self.server.clock())
        await self.server.send_to(conn.device_id, p.Ok(ref=msg.id))
        if msg.printed:
            return
        log.warning("receipt not printed", extra={"fields": {
            "booth": booth, "reference": msg.reference, "reason": reason}})
        await self.server.send_to(hub, p.Alert(
            kind=ALERT_KIND, subject=booth, ticket=ticket,
            detail=f"receipt {msg.reference} not printed ({reason}); the participant saw it "
                   "on the booth's screen"))


def setup(app: web.Application, server: BranchServer) -> None:
    """The booth's Receipt message (after :mod:`signaling.cases`, which owns the decisions)."""
    receipts = Receipts(server)
    server.handlers[p.Receipt.TYPE] = receipts.on_receipt
    allow_type(Role.BOOTH, p.Receipt.TYPE)
