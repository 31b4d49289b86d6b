"""/healthz, /metrics and the admin API of a real branch server."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.signaling.conftest import Branch, BranchFactory, wait_until


async def _get(branch: Branch, path: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with branch.http.get(branch.url(path), headers=headers) as reply:
        return reply.status, await reply.json()


async def _post(branch: Branch, path: str, token: str | None, body: Any = None,
                data: bytes | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with branch.http.post(branch.url(path), headers=headers, json=body,
                                data=data) as reply:
        return reply.status, await reply.json()


async def _metrics(branch: Branch) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with branch.http.get(branch.url("/metrics")) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = await reply.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_counts_devices_by_role_and_pairings(branch: Branch) -> None:
    status, body = await _get(branch, "/healthz")
    assert status == 200
    assert body["status"] == "ok" and body["devices"] == {} and body["pairings"] == 0
    await branch.pair()
    await branch.connect("display-01", "display")
    _, body = await _get(branch, "/healthz")
    assert body["devices"] == {"booth": 1, "hub": 1, "display": 1}
    assert body["pairings"] == 1 and body["waiting"] == 0


async def test_metrics_report_devices_messages_errors_and_pairings(branch: Branch) -> None:
    booth, hub, _pairing = await branch.pair()
    await booth.send("not json")
    await booth.recv()
    await booth.request({"type": "capacity", "slots": 1})  # forbidden for a booth
    m = await _metrics(branch)
    assert m[("bilik_connected_devices", (("role", "booth"),))] == 1
    assert m[("bilik_connected_devices", (("role", "hub"),))] == 1
    assert m[("bilik_connected_devices", (("role", "display"),))] == 0
    assert m[("bilik_messages_total", (("type", "service_request"),))] == 1
    assert m[("bilik_messages_total", (("type", "capacity"),))] == 2  # hub's and booth's
    assert m[("bilik_errors_total", (("code", "bad_message"),))] == 1
    assert m[("bilik_errors_total", (("code", "forbidden"),))] == 1
    assert m[("bilik_pairings_total", ())] == 1
    assert m[("bilik_pairings_active", ())] == 1
    await booth.close()
    del hub
    # The departure is processed after what the booth sent before it (asynchronously).

    async def booth_gone() -> bool:
        m = await _metrics(branch)
        return m[("bilik_connected_devices", (("role", "booth"),))] == 0

    await wait_until(booth_gone, "the booth counted as gone")


# --- admin API --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/devices", "/api/pairings", "/api/audit"]
)
async def test_admin_api_needs_an_admin_token(branch: Branch, path: str) -> None:
    status, body = await _get(branch, path)
    assert (status, body["error"]) == (401, "unauthorized")
    status, body = await _get(branch, path, "bk1.forged.token")
    assert (status, body["error"]) == (401, "unauthorized")
    expired = branch.token("admin", "ops-1", now=branch.server.clock() - 7200, ttl_s=60)
    status, body = await _get(branch, path, expired)
    assert (status, body["error"]) == (401, "unauthorized") and "expired" in body["detail"]
    status, body = await _get(branch, path, branch.token("booth", "booth-01"))
    assert (status, body) == (403, {"error": "forbidden",
                                    "detail": "a booth token cannot use the admin API"})
    status, _ = await _get(branch, path, branch.token("admin", "ops-1"))
    assert status == 200


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/api/audit?limit=abc", "limit must be an integer"),
        ("/api/audit?limit=0", "limit must be between 1 and 1000"),
        ("/api/audit?after=-1", "after must be between 0 and"),
        ("/api/pairings?limit=100000", "limit must be between 1 and 1000"),
    ],
)
async def test_admin_api_bad_parameters_are_400_with_a_reason(
    branch: Branch, path: str, detail: str
) -> None:
    status, body = await _get(branch, path, branch.token("admin", "ops-1"))
    assert status == 400 and body["error"] == "bad_request"
    assert body["detail"].startswith(detail)


async def test_admin_sees_devices_and_pairings(branch: Branch) -> None:
    booth, _hub, pairing = await branch.pair()
    await booth.close()
    admin = branch.token("admin", "ops-1")
    _, body = await _get(branch, "/api/devices", admin)
    devices = {d["id"]: d for d in body["devices"]}
    assert devices["hub-01"]["role"] == "hub" and devices["hub-01"]["connected"] is True
    assert devices["booth-01"]["connected"] is False
    _, body = await _get(branch, "/api/pairings", admin)
    assert body["active"] == [{"id": pairing, "booth": "booth-01", "hub": "hub-01",
                               "ticket": "", "number": "", "service": ""}]
    assert body["recent"][0]["id"] == pairing and body["recent"][0]["released"] is None


async def test_admin_release_tells_both_sides_and_is_audited(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    admin = branch.token("admin", "ops-1")
    status, body = await _post(branch, f"/api/pairings/{pairing}/release", admin)
    assert (status, body) == (200, {"released": pairing})
    for device in (booth, hub):
        release = await device.expect("release")
        assert (release["pairing"], release["reason"]) == (pairing, "admin")
    status, body = await _post(branch, f"/api/pairings/{pairing}/release", admin)
    assert status == 404 and body["error"] == "not_found"
    _, body = await _get(branch, "/api/audit", admin)
    releases = [e for e in body["entries"] if e["action"] == "release"]
    assert [(e["actor"], e["detail"]["reason"]) for e in releases] == [("ops-1", "admin")]
    _, page = await _get(branch, f"/api/audit?after={body['entries'][0]['seq']}&limit=1", admin)
    assert [e["seq"] for e in page["entries"]] == [body["entries"][1]["seq"]]


async def test_admin_issues_tokens_that_devices_can_use(branch: Branch) -> None:
    admin = branch.token("admin", "ops-1")
    status, body = await _post(branch, "/api/tokens", admin, {"role": "booth", "id": "booth-07"})
    assert status == 200 and (body["id"], body["role"]) == ("booth-07", "booth")
    device = await branch.connect("booth-07", "booth", token=body["token"])
    assert device.welcome["device_id"] == "booth-07"
    _, audit = await _get(branch, "/api/audit", admin)
    assert any(e["action"] == "token_issued" and e["subject"] == "booth-07"
               for e in audit["entries"])


@pytest.mark.parametrize(
    ("body", "data", "detail"),
    [
        (None, b"{not json", "body must be JSON"),
        ([1, 2], None, "body must be a JSON object"),
        ({"role": "janitor", "id": "x"}, None, "role must be one of"),
        ({"role": "booth", "id": 7}, None, "id must be a string"),
        ({"role": "booth", "id": "Booth 7"}, None, "device id 'Booth 7' must be"),
        ({"role": "booth", "id": "b7", "ttl_s": -1}, None, "ttl_s must be"),
        ({"role": "booth", "id": "b7", "ttl_s": True}, None, "ttl_s must be"),
    ],
    ids=["not-json", "not-object", "role", "id-type", "id-format", "ttl-negative", "ttl-bool"],
)
async def test_admin_token_requests_with_bad_bodies_are_400(
    branch: Branch, body: Any, data: bytes | None, detail: str
) -> None:
    admin = branch.token("admin", "ops-1")
    status, reply = await _post(branch, "/api/tokens", admin, body, data)
    assert status == 400 and reply["error"] == "bad_request"
    assert reply["detail"].startswith(detail)


async def test_a_booth_cannot_issue_tokens(start_branch: BranchFactory) -> None:
    branch = await start_branch()
    status, body = await _post(branch, "/api/tokens", branch.token("booth", "booth-01"),
                               {"role": "admin", "id": "evil"})
    assert status == 403 and body["error"] == "forbidden"
