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


# The manager's page is for people: a session cookie from a manager's sign-in, never a token
# (docs/manager.md). Its routes refuse in their own one way, checked below.
PEOPLE = "/manager"


async def test_every_route_with_a_credential_refuses_one_way_without_one(branch: Branch) -> None:
    guarded = [(m, p) for m, p in _routes(branch)
               if p not in PUBLIC and not p.startswith(PEOPLE)]
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


async def test_the_managers_routes_refuse_one_way_without_a_session_and_any_token(
        branch: Branch) -> None:
    open_to_all = {"/manager", "/manager/", "/manager/api/sign-in", "/manager/api/sign-out"}
    session_only = [(m, p) for m, p in _routes(branch)
                    if p.startswith(PEOPLE) and p not in open_to_all]
    assert len(session_only) >= 3, session_only
    admin = branch.token("admin", "ops-1")
    for method, path in session_only:
        for token, status, code in ((None, 401, "not_signed_in"),
                                    (admin, 403, "manager_sign_in_required"),
                                    ("bk1.x.y", 403, "manager_sign_in_required")):
            got, text = await _refusal(branch, method, path, token)
            assert got == status, (method, path, token, got, text[:200])
            if method == "HEAD":
                continue
            body = json.loads(text)
            assert set(body) == {"error", "detail"} and body["error"] == code, (path, body)
