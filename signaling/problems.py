"""The one shape of an HTTP error on the branch server: a JSON problem body.

Every HTTP handler refuses a request by raising :func:`problem`; the body is always
``{"error": code, "detail": "...", **extra}`` with the matching status, so a client reads
every refusal the same way.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# The statuses the server answers with, each with aiohttp's exception for it.
_CLASSES: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
    404: web.HTTPNotFound, 408: web.HTTPRequestTimeout, 409: web.HTTPConflict,
    410: web.HTTPGone, 415: web.HTTPUnsupportedMediaType, 422: web.HTTPUnprocessableEntity,
    429: web.HTTPTooManyRequests,
}


def problem(status: int, code: str, detail: str, **extra: Any) -> web.HTTPException:
    """The HTTP error to raise: ``{"error": code, "detail": detail, **extra}`` as JSON."""
    body = json.dumps({"error": code, "detail": detail, **extra})
    if status == 413:  # aiohttp's class wants sizes for its own text, which ours replaces
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=body,
                                             content_type="application/json")
    return _CLASSES[status](text=body, content_type="application/json")
