"""Who a connection is, and what it may touch (issue 15, defects 4, 7 and 8).

- Simultaneous hellos for one identity leave exactly one live session, which alone acts;
  ``/healthz``, ``/metrics`` and the connection table agree.
- An identity is an id and its role: a token of another role with a known device's id is
  refused, and the device keeps its session and pairing.
- A hub acts only on its own cases: it cannot resume a case another hub parked (while that
  hub is there), nor record a decision for a ticket the session does not serve.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from signaling import limits
from signaling.branchqueue import QUEUE_KEY
from tests.signaling.conftest import Branch, BranchFactory, Device, wait_until
from tests.signaling.test_fuzz_roles import _seated


async def _hello(branch: Branch, device_id: str, token: str) -> tuple[Device, dict[str, object]]:
    device = await branch.raw()
    device.device_id = device_id
    await device.send({"type": "hello", "token": token})
    try:
        return device, await device.recv()
    except AssertionError:  # closed before its welcome: replaced by a later hello
        return device, {"type": "closed", "code": device.close_code}


async def _metric(branch: Branch, name: str, labels: str) -> float:
    async with branch.http.get(branch.url("/metrics")) as reply:
        text = await reply.text()
    match = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.mark.parametrize("n", [2, 10, 30])
async def test_simultaneous_hellos_for_one_identity_leave_exactly_one_live_session(
    branch: Branch, n: int,
) -> None:
    token = branch.token("booth", "booth-01")
    results = await asyncio.gather(*(_hello(branch, "booth-01", token) for _ in range(n)))
    live = branch.server.connections["booth-01"]
    welcomed = [(d, r) for d, r in results if r.get("type") == "welcome"]
    assert welcomed, results
    survivors = []
    for device, reply in results:
        # The live connection answers; every other one was closed as replaced (4002).
        if reply.get("session") == live.session:
            assert (await device.request({"type": "status", "state": "idle"}))["type"] == "ok"
            survivors.append(device)
        else:
            assert await device.closed() == limits.CLOSE_REPLACED
    assert len(survivors) == 1
    assert any(r.get("session") == live.session for _, r in welcomed)
    # The server's views agree with each other.
    async with branch.http.get(branch.url("/healthz")) as answer:
        health = await answer.json()
    assert health["devices"] == {"booth": 1}
    async def one_in_metrics() -> bool:
        return await _metric(branch, "bilik_connected_devices", 'role="booth"') == 1.0

    try:
        await wait_until(one_in_metrics, "/metrics to count the one booth connected")
    except AssertionError:
        async with branch.http.get(branch.url("/metrics")) as answer:
            lines = (await answer.text()).splitlines()
            raise AssertionError([x for x in lines if "connected_devices" in x]) from None
    # The ghost connections changed nothing: the stored status is the survivor's.
    await survivors[0].request({"type": "status", "state": "in_session"})
    await branch.settled()
    rows = [r for r in branch.snapshot()["devices"] if r[0] == "booth-01"]
    assert rows and rows[0][5] == "in_session"


async def test_a_token_of_another_role_cannot_take_a_devices_id(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    impostor, reply = await _hello(branch, "booth-01", branch.token("hub", "booth-01"))
    assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    assert "booth-01 is a booth" in str(reply["detail"])
    assert await impostor.closed() == limits.CLOSE_UNAUTHORIZED
    # The real booth keeps its session, its pairing, and its relay.
    assert branch.server.connections["booth-01"].role.value == "booth"
    assert (await booth.request({"type": "status", "state": "idle"}))["type"] == "ok"
    await booth.send({"type": "ice", "peer": "hub-01", "pairing": pairing})
    assert (await hub.expect("ice"))["peer"] == "booth-01"
    # Nor can a booth token take a hub's id.
    _, reply = await _hello(branch, "hub-01", branch.token("booth", "hub-01"))
    assert reply["type"] == "error" and reply["code"] == "forbidden"


async def test_an_id_keeps_its_role_across_a_restart(start_branch: BranchFactory) -> None:
    branch = await start_branch()
    await branch.connect("booth-01", "booth")
    await branch.stop()
    again = await start_branch()
    _, reply = await _hello(again, "booth-01", again.token("hub", "booth-01"))
    assert reply["type"] == "error" and reply["code"] == "forbidden"


async def test_a_hub_cannot_resume_a_case_another_hub_parked(branch: Branch) -> None:
    devices, known = await _seated(branch)
    hub, booth = devices["hub"], devices["booth"]
    assert (await hub.request({"type": "park", "booth": "booth-01"}))["type"] == "ok"
    await booth.expect("release", reason="park")
    other = await branch.connect("hub-02", "hub")
    assert (await other.request({"type": "capacity", "slots": 6}))["type"] == "ok"
    admin = branch.token("admin", "ops-1")
    async with branch.http.post(branch.url("/api/cases/officers"),
                                json={"id": "officer-2", "pin": "1357"},
                                headers={"Authorization": f"Bearer {admin}"}) as answer:
        assert answer.status == 201
    assert (await other.request({"type": "officer_sign_in", "officer": "officer-2",
                                 "pin": "1357"}))["type"] == "ok"
    reply = await other.request({"type": "park", "booth": "booth-01", "resume": True})
    assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    assert branch.app[QUEUE_KEY].scheduler.booths["booth-01"].held
    # The hub that parked it resumes it.
    assert (await hub.request({"type": "park", "booth": "booth-01", "resume": True}))[
        "type"] == "ok"
    back = await booth.expect("pair")
    assert back["hub"] == "hub-01" and back["ticket"] == known["ticket"]


async def test_a_decision_must_name_the_sessions_own_ticket(branch: Branch) -> None:
    devices, known = await _seated(branch)
    hub = devices["hub"]
    kiosk = devices["kiosk"]
    sent = await kiosk.send({"type": "ticket_request", "service": "jht", "priority": "none"})
    someone_else = await kiosk.expect("ticket_info", ref=sent)
    before = [r for r in branch.snapshot()["audit"] if r[3] == "decision"]
    reply = await hub.request({"type": "decision", "booth": "booth-01",
                               "ticket": someone_else["ticket"], "outcome": "approved"})
    assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    await branch.settled()
    assert [r for r in branch.snapshot()["audit"] if r[3] == "decision"] == before
    sent = await hub.send({"type": "decision", "booth": "booth-01", "ticket": known["ticket"],
                           "outcome": "approved", "claim": {
                               "nik": "3171234506780001", "name": "Siti Rahayu",
                               "bank": "BRI", "account": "1234567890"}})
    verdict = await hub.expect("verdict", ref=sent)
    assert verdict["ticket"] == known["ticket"]
    await branch.settled()
    decided = [json.loads(r[5]) for r in branch.snapshot()["audit"] if r[3] == "decision"]
    assert decided and all(d.get("ticket", known["ticket"]) == known["ticket"] for d in decided)


async def test_the_admin_api_will_not_issue_a_token_giving_an_id_another_role(
    branch: Branch,
) -> None:
    await branch.connect("booth-01", "booth")
    admin = {"Authorization": f"Bearer {branch.token('admin', 'ops-1')}"}
    async with branch.http.post(branch.url("/api/tokens"), headers=admin,
                                json={"role": "hub", "id": "booth-01"}) as reply:
        assert reply.status == 409
        assert (await reply.json())["error"] == "role_conflict"
    async with branch.http.post(branch.url("/api/tokens"), headers=admin,
                                json={"role": "booth", "id": "booth-01"}) as reply:
        assert reply.status == 200
