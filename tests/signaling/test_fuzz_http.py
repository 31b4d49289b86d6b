"""An HTTP fuzzer over every route of a real branch server: no body, header or credential
makes it answer 500, and the body limits are the documented ones (issue 15, defects 2, 3).

The routes are read from the application's router, so a route added later is fuzzed too.
"""

from __future__ import annotations

import json
import re

import pytest

from signaling import limits
from signaling.branchqueue import QUEUE_KEY
from signaling.queue import limits as qlimits
from tests.signaling.conftest import Branch

NESTED = b"[" * 20_000 + b"]" * 20_000  # 40 KB: under the JSON body limit
NESTED_OBJECT = b"{\"a\":" * 8_000 + b"1" + b"}" * 8_000
BODIES: list[tuple[str, bytes]] = [
    ("application/json", NESTED),
    ("application/json", NESTED_OBJECT),
    ("application/json", b'{"kind": "ktp", "size": 1e999, "sha256": null}'),
    ("application/json", b"\xff\xfe not utf-8"),
    ("application/json", b'"just a string"'),
    ("application/json", b""),
    ("text/csv", b"code,service,slot\rAB12,jht,2026-12-07T10:00\r"),
    ("text/csv", b'code,service,slot\n"unterminated,jht,x\n'),
    ("text/csv", b"\x00\x01\x02"),
    ("application/octet-stream", b"\xff\xd8\xff" + b"\x00" * 1000),
]


def _routes(branch: Branch) -> list[tuple[str, str]]:
    out = []
    for route in branch.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "*":
            continue
        # Fill every {placeholder} with something plausible but unknown.
        path = re.sub(r"\{[^}]+\}", "u-0123456789abcdef0123", path)
        out.append((route.method, path))
    return sorted(set(out))


async def _send(branch: Branch, method: str, path: str, token: str | None,
                ctype: str, body: bytes) -> tuple[int, str]:
    headers = {"Content-Type": ctype}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with branch.http.request(method, branch.url(path) + "?offset=0&ticket=x&since=1",
                                   data=body, headers=headers) as reply:
        return reply.status, await reply.text()


async def test_no_route_answers_500_to_any_body_or_credential(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    del booth, hub, pairing
    tokens = [None, "bk1.x.y", branch.token("admin", "ops-1"), branch.token("booth", "booth-01"),
              branch.token("hub", "hub-01")]
    routes = _routes(branch)
    assert len(routes) >= 12, routes
    tried = 0
    for method, path in routes:
        if path == "/ws":
            continue
        for token in tokens:
            for ctype, body in BODIES:
                status, text = await _send(branch, method, path, token, ctype, body)
                tried += 1
                assert status < 500, (method, path, ctype, body[:30], status, text[:200])
                if status >= 400 and method != "HEAD":
                    assert text, (method, path, status)
    assert tried > 400


@pytest.mark.parametrize("body", [NESTED, NESTED_OBJECT], ids=["array", "object"])
async def test_nested_json_is_a_400_on_every_json_route(branch: Branch, body: bytes) -> None:
    await branch.pair()
    admin, booth = branch.token("admin", "ops-1"), branch.token("booth", "booth-01")
    for path, token in (("/api/tokens", admin), ("/api/cases/officers", admin),
                        ("/api/documents", booth), ("/api/queue/appointments", admin)):
        status, text = await _send(branch, "POST", path, token, "application/json", body)
        assert status == 400, (path, status, text[:200])
        assert "nest" in json.loads(text)["detail"] or "nested" in text, text[:200]


async def test_a_document_opening_is_refused_for_a_booth_out_of_session_before_its_body(
    branch: Branch,
) -> None:
    await branch.connect("booth-09", "booth")
    status, text = await _send(branch, "POST", "/api/documents", branch.token("booth", "booth-09"),
                               "application/json", NESTED)
    assert status == 403 and json.loads(text)["error"] == "not_in_session", text[:200]


def _csv(rows: int, newline: str) -> bytes:
    lines = ["code,service,slot,name"]
    lines += [f"BK{i:05d},jht,2026-12-08T{8 + i % 8:02d}:{i % 60:02d},{'Peserta ' + 'x' * 50}"
              for i in range(rows)]
    return (newline.join(lines) + newline).encode()


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
async def test_appointment_csv_with_any_line_ending_is_imported(
    branch: Branch, newline: str,
) -> None:
    admin = branch.token("admin", "ops-1")
    status, text = await _send(branch, "POST", "/api/queue/appointments", admin, "text/csv",
                               _csv(3, newline))
    assert status == 200, text
    assert json.loads(text)["imported"] == 3


async def test_the_documented_import_limits_hold_at_the_http_door(branch: Branch) -> None:
    """4,000 rows (well over the old 256 KiB) pass; 5,000 rows is the limit; 4 MiB too."""
    admin = branch.token("admin", "ops-1")
    big = _csv(4000, "\n")
    assert 256 * 1024 < len(big) < qlimits.MAX_IMPORT_BYTES
    status, text = await _send(branch, "POST", "/api/queue/appointments", admin, "text/csv", big)
    assert status == 200, text[:300]
    assert json.loads(text)["imported"] == 4000
    assert len(branch.app[QUEUE_KEY].scheduler.appointments) == 4000
    too_many = _csv(qlimits.MAX_IMPORT_ROWS + 1, "\n").replace(b"BK", b"CK")
    status, text = await _send(branch, "POST", "/api/queue/appointments", admin, "text/csv",
                               too_many)
    assert status == 400 and "more than 5000 rows" in text, text[:300]
    huge = b"x" * (limits.MAX_HTTP_BODY_BYTES + 1)
    status, text = await _send(branch, "POST", "/api/queue/appointments", admin, "text/csv", huge)
    assert status == 413 and json.loads(text)["error"] == "too_large", text[:300]
    assert qlimits.MAX_IMPORT_BYTES == limits.MAX_HTTP_BODY_BYTES == 4 * 1024 * 1024


async def test_json_bodies_have_their_own_smaller_limit(branch: Branch) -> None:
    admin = branch.token("admin", "ops-1")
    body = json.dumps({"role": "booth", "id": "booth-01", "pad": "x" * limits.MAX_JSON_BODY_BYTES})
    status, text = await _send(branch, "POST", "/api/tokens", admin, "application/json",
                               body.encode())
    assert status == 413, text[:200]


