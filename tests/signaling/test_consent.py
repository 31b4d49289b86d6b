"""The participant's consent to the recording at the branch server: stored with the case,
told to the hub with the branch's setting, and bad input refused with the records intact."""

from __future__ import annotations

import time
from typing import Any

from signaling.consent import consent_of
from tests.signaling.conftest import Branch, BranchFactory


def consent(pairing: str, **fields: Any) -> dict[str, Any]:
    return {"type": "consent", "peer": "hub-01", "pairing": pairing, "wording": "2026-12.1",
            "accepted": True, "at": time.time(), **fields}


async def read(branch: Branch, ticket: str, device: str = "hub-01",
               role: str = "hub") -> tuple[int, dict[str, Any]]:
    async with branch.http.get(branch.url(f"/api/consents?ticket={ticket}"), headers={
            "Authorization": f"Bearer {branch.token(role, device)}"}) as r:
        return r.status, await r.json()


async def test_an_answer_is_stored_with_the_case_and_told_to_the_hub(
        start_branch: BranchFactory) -> None:
    branch = await start_branch(recording="required")
    booth, hub, pairing = await branch.pair()
    at = time.time() - 3.0
    assert (await booth.request(consent(pairing, at=at, accepted=False)))["type"] == "ok"
    told = await hub.expect("consent")
    assert (told["peer"], told["pairing"], told["accepted"], told["required"]) == (
        "booth-01", pairing, False, True)
    assert told["ticket"] == f"pairing:{pairing}" and told["wording"] == "2026-12.1"
    status, record = await read(branch, f"pairing:{pairing}")
    assert status == 200
    assert record == {"ticket": f"pairing:{pairing}", "booth": "booth-01",
                      "wording": "2026-12.1", "accepted": False, "required": True,
                      "at": record["at"]}
    assert record["at"].endswith("Z")
    # The participant changes their mind: the latest answer is the case's consent.
    assert (await booth.request(consent(pairing)))["type"] == "ok"
    db = branch.server.db
    latest = await db.call(consent_of, db.sync, f"pairing:{pairing}")
    assert latest is not None and latest.accepted and abs(latest.at - time.time()) < 5


async def test_bad_consents_are_refused_and_nothing_is_stored(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    other = await branch.connect("booth-02", "booth")
    cases = [
        (other, consent(pairing), "not_paired"),  # not this booth's pairing
        (booth, consent(pairing, peer="hub-09"), "not_paired"),  # not its hub
        (booth, consent(pairing, wording=""), "bad_message"),
        (booth, consent(pairing, accepted="yes"), "bad_message"),
        (booth, consent(pairing, wording="x" * 40), "bad_message"),
        (hub, {**consent(pairing), "peer": "booth-01"}, "forbidden"),  # only a booth answers
    ]
    for device, msg, code in cases:
        reply = await device.request(msg)
        assert (reply["type"], reply["code"]) == ("error", code), (msg, reply)
    db = branch.server.db
    assert await db.call(consent_of, db.sync, f"pairing:{pairing}") is None
    assert (await read(branch, f"pairing:{pairing}"))[0] == 404


async def test_a_booth_clock_far_off_does_not_date_the_case(branch: Branch) -> None:
    booth, _hub, pairing = await branch.pair()
    assert (await booth.request(consent(pairing, at=0.0)))["type"] == "ok"
    db = branch.server.db
    record = await db.call(consent_of, db.sync, f"pairing:{pairing}")
    assert record is not None and abs(record.at - time.time()) < 5


async def test_only_the_hub_that_served_the_ticket_reads_its_consent(branch: Branch) -> None:
    booth, _hub, pairing = await branch.pair()
    assert (await booth.request(consent(pairing)))["type"] == "ok"
    assert (await read(branch, f"pairing:{pairing}", "hub-02"))[0] == 403
    assert (await read(branch, f"pairing:{pairing}", "booth-01", "booth"))[0] == 403
    assert (await read(branch, ""))[0] == 400
    async with branch.http.get(branch.url("/api/consents?ticket=x")) as r:
        assert r.status == 401
