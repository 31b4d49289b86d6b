"""The head office's error answers: JSON ``{"error": code, "detail": sentence}``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

_CLASSES: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
    404: web.HTTPNotFound, 409: web.HTTPConflict, 413: web.HTTPRequestEntityTooLarge,
    422: web.HTTPUnprocessableEntity, 503: web.HTTPServiceUnavailable,
}


def problem(status: int, code: str, detail: str, **extra: Any) -> web.HTTPException:
    return _CLASSES[status](text=json.dumps({"error": code, "detail": detail, **extra}),
                            content_type="application/json")
