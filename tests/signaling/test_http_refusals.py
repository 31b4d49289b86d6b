"""Every HTTP route of the branch server refuses a caller the same way: one role check, one
problem body (issue 13: the server had three or four copies of each, which could drift apart).

The routes are read from the application's router, so a route added later is checked too.
"""

from __future__ import annotations

import json

from tests.signaling.conftest import Branch
from tests.signaling.test_fuzz_http import _routes

PUBLIC = {"/ws", "/healthz", "/metrics", "/api/document-kinds",
          "/api/enrol"}  # its credential is the one-time code in its body (test_tls.py)


async def _refusal(branch: Branch, method: str, path: str, token: str | None
                   ) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with branch.http.request(method, branch.url(path), data=b"{}",
                                   headers=headers) as reply:
        return reply.status, await reply.text()


async def test_every_route_with_a_credential_refuses_one_way_without_one(branch: Branch) -> None:
    guarded = [(m, p) for m, p in _routes(branch) if p not in PUBLIC]
    assert len(guarded) >= 12, guarded
    for method, path in guarded:
        for token, why in ((None, "send Authorization: Bearer <"), ("bk1.x.y", "")):
            status, text = await _refusal(branch, method, path, token)
            assert status == 401, (method, path, token, status, text[:200])
            if method == "HEAD":
                continue
            body = json.loads(text)
            assert set(body) == {"error", "detail"}, (method, path, body)
            assert body["error"] == "unauthorized" and body["detail"].startswith(why), body


async def test_a_token_of_another_role_is_a_403_naming_the_role(branch: Branch) -> None:
    kiosk = branch.token("kiosk", "kiosk-01")
    for method, path in (("GET", "/api/devices"), ("GET", "/api/queue"),
                         ("POST", "/api/documents"), ("GET", "/api/readings"),
                         ("GET", "/api/cases/hub")):
        status, text = await _refusal(branch, method, path, kiosk)
        body = json.loads(text)
        assert status == 403 and body["error"] == "forbidden", (path, status, body)
        assert body["detail"].startswith("a kiosk token cannot use "), (path, body)
