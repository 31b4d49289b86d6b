"""A participant's call for help at a front-of-house device, passed on to the officers.

The kiosk's touch screen has a "call staff" button; the kiosk reports it in its
``Status`` (``health["help"] = "requested"``, the only message a kiosk may send besides
its requests). When a device's help goes up, every officer hub gets an ``Alert`` (kind
``help_requested``, subject the device) and the audit log a row; a device that keeps
reporting the same raised help does not alert again until it was lowered.
"""

from __future__ import annotations

import logging

from aiohttp import web

from signaling import protocol as p
from signaling.protocol import Role
from signaling.server import BranchServer, Connection

log = logging.getLogger(__name__)

HELP_PART = "help"
REQUESTED = "requested"
ALERT_KIND = "help_requested"
ASKERS = frozenset({Role.KIOSK, Role.DISPLAY})


class HelpCalls:
    def __init__(self, server: BranchServer) -> None:
        self.server = server
        self.raised: set[str] = set()  # devices whose help is up now

    async def on_status(self, conn: Connection, msg: p.Status) -> None:
        if conn.role not in ASKERS:
            return
        device = conn.device_id
        if msg.health.get(HELP_PART) != REQUESTED:
            self.raised.discard(device)
            return
        if device in self.raised:
            return
        self.raised.add(device)
        server = self.server
        log.warning("help asked", extra={"fields": {"device": device}})
        await server.broadcast(Role.HUB, p.Alert(
            kind=ALERT_KIND, subject=device, detail=msg.detail or f"help asked at {device}",
            at=server.clock()))
        await server.db.call(server.db.sync.audit, server.clock(), device, ALERT_KIND, device,
                             {"detail": msg.detail})


def setup(app: web.Application, server: BranchServer) -> None:
    server.on_status.append(HelpCalls(server).on_status)
