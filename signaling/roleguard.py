"""The one role check of the branch server's HTTP API.

A request names its credential by its client certificate (an enrolled device, mutual TLS)
or in ``Authorization: Bearer <token>``; :func:`grant_of` verifies it with
:mod:`signaling.certauth` (the revocation list too) and that its role is one of those
allowed, or raises a :func:`~signaling.problems.problem` (401 without a valid credential,
403 for another role). :func:`requires` is the same check as a handler decorator that
leaves the grant under :data:`GRANT_KEY` for the handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from signaling import certauth, tokens
from signaling.errors import TokenError
from signaling.problems import problem
from signaling.protocol import Role
from signaling.server import SERVER_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GRANT_KEY: web.RequestKey[tokens.Grant] = web.RequestKey("bilik_grant", tokens.Grant)


def grant_of(request: web.Request, *roles: Role, purpose: str = "") -> tokens.Grant:
    """The verified grant of the request's bearer token, if its role is one of ``roles``.

    ``purpose`` names what is refused in the 403 detail ("the admin API")."""
    server = request.app[SERVER_KEY]
    wanted = "/".join(r.value for r in roles)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") and certauth.certificate_grant(request.transport) is None:
        raise problem(401, "unauthorized", f"send Authorization: Bearer <{wanted} token>")
    try:  # an enrolled device's certificate, else the bearer token (signaling.certauth)
        grant = certauth.request_grant(server, request)
    except TokenError as exc:
        raise problem(401, "unauthorized", str(exc)) from None
    if grant.role not in roles:
        what = purpose or f"this; only a {wanted} token can"
        raise problem(403, "forbidden", f"a {grant.role} token cannot use {what}")
    return grant


def requires(*roles: Role, purpose: str = "") -> Callable[[Handler], Handler]:
    """Wrap an HTTP handler so that only a verified token of ``roles`` reaches it."""

    def wrap(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            request[GRANT_KEY] = grant_of(request, *roles, purpose=purpose)
            return await handler(request)

        return wrapped

    return wrap


# The admin API's guard (devices, pairings, audit, tokens, the queue's admin routes).
admin_only = requires(Role.ADMIN, purpose="the admin API")
