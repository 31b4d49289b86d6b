"""Reading an HTTP request's body: bounded in size, in time and, for JSON, in nesting.

Every route that reads a body whole goes through here, so that no route can be made to
answer 500 by a body it did not expect: too large is 413, too slow is 408, not JSON or
nested deeper than :data:`limits.MAX_JSON_DEPTH` is 400, each with a JSON reason.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from signaling import limits
from signaling.problems import problem


async def read_bytes(request: web.Request, *, max_bytes: int,
                     timeout_s: float = limits.BODY_READ_S) -> bytes:
    """The whole body, refused (413) beyond ``max_bytes`` and (408) if slower than the limit."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise problem(413, "too_large", f"the body may be at most {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > max_bytes:
                    raise problem(413, "too_large", f"the body may be at most {max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise problem(408, "too_slow",
                      f"the body did not arrive within {timeout_s:g} s") from None
    return b"".join(chunks)


def depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (strings are skipped)."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def parse_json(data: bytes | str, *, what: str = "body") -> Any:
    """Decode JSON, or raise a 400 saying why (bad UTF-8, bad JSON, nested too deeply)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise problem(400, "bad_request",
                          f"{what} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if depth(data) > limits.MAX_JSON_DEPTH:
        raise problem(400, "bad_request",
                      f"{what} nests deeper than {limits.MAX_JSON_DEPTH} levels")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise problem(400, "bad_request", f"{what} must be JSON: {exc}") from None
    except RecursionError:  # depth() bounds it; kept so that no input can make a 500
        raise problem(400, "bad_request", f"{what} nests too deeply") from None


async def read_json(request: web.Request, *,
                    max_bytes: int = limits.MAX_JSON_BODY_BYTES) -> Any:
    """A bounded JSON body (see :func:`read_bytes` and :func:`parse_json`)."""
    return parse_json(await read_bytes(request, max_bytes=max_bytes))


async def read_json_object(request: web.Request, *, fields: str,
                           max_bytes: int = limits.MAX_JSON_BODY_BYTES) -> dict[str, Any]:
    """Like :func:`read_json`, and it must be an object (``fields`` names what it holds)."""
    body = await read_json(request, max_bytes=max_bytes)
    if not isinstance(body, dict):
        raise problem(400, "bad_request", f"body must be a JSON object: {{{fields}}}")
    return body


async def append_chunk(request: web.Request, part: Path, current: int, size: int,
                       max_chunk: int) -> int:
    """One PUT of a resumable upload (the booth's documents, the hub's recordings): the
    ``offset=N`` query must be ``current`` (else 409 with the server's offset); the body,
    at most ``min(max_chunk, size - current)`` bytes, is written at ``current`` of ``part``
    and fsynced. What arrived in order is kept even when the body stalls (408 says the offset
    to go on from). Returns the new offset."""
    try:
        offset = int(request.query.get("offset", ""))
    except ValueError:
        raise problem(400, "bad_request", "query parameter offset=N is required") from None
    if offset != current:
        raise problem(409, "wrong_offset",
                      f"the server has {current} bytes; send from there", offset=current)
    room = min(max_chunk, size - current)
    declared = request.content_length
    if declared is not None and declared > room:
        raise problem(413, "too_large", f"this chunk may be at most {room} bytes",
                      size=declared)
    received = 0
    with part.open("r+b") as f:
        f.seek(current)
        f.truncate()
        try:
            async with asyncio.timeout(limits.BODY_READ_S):
                async for piece in request.content.iter_any():
                    received += len(piece)
                    if received > room:
                        f.truncate(current)
                        too_many, received = received, 0
                        raise problem(413, "too_large",
                                      f"this chunk may be at most {room} bytes", size=too_many)
                    f.write(piece)
        except TimeoutError:
            raise problem(408, "too_slow", f"a chunk must arrive within "
                          f"{limits.BODY_READ_S:g} s; ask for the offset and go on",
                          offset=current + received) from None
        finally:
            f.flush()
            os.fsync(f.fileno())
    return current + received
