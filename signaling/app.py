"""The branch server's aiohttp application: the device socket, health, metrics, the admin API
and the features, with the gate's request bookkeeping and per-route body limits.

This is the one module that wires the server: it imports :class:`BranchServer` and every
feature; no feature imports it, and the server imports no feature. A feature is a module with
``setup(app, server)`` that adds its message handlers, device hooks, HTTP routes and tables
(``Store.migrate_feature``); to add one, import it here and put it in :data:`FEATURES`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any

from aiohttp import web

from bilik import documents as document_kinds
from bilik.errors import ConfigError
from signaling import (
    admin,
    cases,
    consent,
    documentshttp,
    enrolment,
    helpcalls,
    limits,
    managerhttp,
    officerlist,
    officers,
    outbox,
    queuehttp,
    readings,
    receipts,
    recordings,
    revocation,
)
from signaling.branchqueue import RULES_KEY
from signaling.config import ServerConfig
from signaling.metrics import CONTENT_TYPE
from signaling.queue.rules import QueueRules
from signaling.server import SERVER_KEY, BranchServer

__all__ = ["FEATURES", "SERVER_KEY", "make_app"]

# The features, set up in this order: the queue first (officers wrap its Capacity handler,
# cases its Transfer and Park handlers), documents before readings and recordings (they use
# the document records), receipts after cases (they flag its decisions); enrolment and
# revocation: device certificates (docs/security.md); the manager's page last (it reads the
# queue, the documents, the officers and the audit log).
FEATURES: tuple[ModuleType, ...] = (queuehttp, documentshttp, readings, officers,
                                    officerlist, cases, receipts, helpcalls, consent, recordings,
                                    outbox, enrolment, revocation, managerhttp)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response(request.app[SERVER_KEY].health())


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[SERVER_KEY].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _document_kinds(request: web.Request) -> web.Response:
    return web.json_response(document_kinds.as_json())


def _require_checklists(rules: QueueRules) -> None:
    """Every service the queue offers must have its checklist: refused at start-up, never
    served with another service's list."""
    try:
        document_kinds.require_checklists(rules.services)
    except document_kinds.MissingChecklist as exc:
        raise ConfigError("queue.services", str(exc)) from None


def make_app(
    config: ServerConfig, *, server: BranchServer | None = None,
    queue_rules: QueueRules | None = None,
) -> web.Application:
    """The aiohttp application of a branch server; the server starts and stops with it."""
    _require_checklists(queue_rules or QueueRules())
    branch = server or BranchServer(config)

    @web.middleware
    async def gatekeeper(request: web.Request, handler: Any) -> web.StreamResponse:
        # The headers are in: the header deadline stops until the next request begins.
        branch.gate.request_started(request.transport)
        try:
            return await handler(request)
        finally:
            branch.gate.request_done(request.transport)

    # Bodies are read by signaling.requestbody, each route with its own limit.
    app = web.Application(client_max_size=limits.MAX_JSON_BODY_BYTES,
                          middlewares=[gatekeeper])
    app[SERVER_KEY] = branch
    if queue_rules is not None:
        app[RULES_KEY] = queue_rules

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await branch.start()
        yield
        await branch.stop()

    app.cleanup_ctx.append(lifecycle)

    async def on_shutdown(_app: web.Application) -> None:
        # Close device sockets before aiohttp waits for handlers to finish.
        for conn in list(branch.connections.values()):
            conn.closing = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=limits.CLOSE_GOING_AWAY, message=b"server shutting down")

    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/ws", branch.handle_ws)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/api/document-kinds", _document_kinds)
    admin.add_routes(app)
    for feature in FEATURES:
        setup: Callable[[web.Application, BranchServer], None] = feature.setup
        setup(app, branch)
    return app
