"""The booth reports whether it printed the decision's receipt: the server keeps it with the
decision and its audit entry and tells the deciding officer; only that booth may report it."""

from __future__ import annotations

import json
import sqlite3

from signaling.cases import case_view
from signaling.store import DB_FILE
from tests.signaling.conftest import Branch
from tests.signaling.test_fuzz_roles import _seated


async def test_a_receipt_not_printed_is_kept_with_the_decision_and_told_to_the_officer(
        branch: Branch) -> None:
    devices, known = await _seated(branch)
    hub, booth = devices["hub"], devices["booth"]
    sent = await hub.send({"type": "decision", "booth": "booth-01", "ticket": known["ticket"],
                           "outcome": "referred"})
    reference = (await hub.expect("verdict", ref=sent))["reference"]
    await booth.expect("verdict", reference=reference)

    # Bad reports change nothing: unknown claim, another booth's claim, a hub reporting.

    def receipts() -> list[tuple[object, ...]]:
        # (the outbox's own audit entries come meanwhile: only the receipts' are compared)
        with sqlite3.connect(branch.config.data_dir / DB_FILE) as db:
            return [*db.execute("SELECT * FROM audit WHERE action LIKE 'receipt%'"),
                    *db.execute("SELECT * FROM decisions")]

    before = receipts()
    reply = await booth.request({"type": "receipt", "reference": "KLM-20261207-00000000",
                                 "printed": False, "reason": "paper out"})
    assert (reply["type"], reply["code"]) == ("error", "bad_message"), reply
    assert "no decision" in reply["detail"]
    other = await branch.connect("booth-02", "booth")
    reply = await other.request({"type": "receipt", "reference": reference, "printed": False})
    assert (reply["type"], reply["code"]) == ("error", "forbidden"), reply
    assert "decided at booth-01, not at booth-02" in reply["detail"]
    reply = await hub.request({"type": "receipt", "reference": reference, "printed": False})
    assert (reply["type"], reply["code"]) == ("error", "forbidden"), reply
    await branch.settled()
    assert receipts() == before

    reply = await booth.request({"type": "receipt", "reference": reference, "printed": False,
                                 "reason": "printer error: paper out"})
    assert reply["type"] == "ok", reply
    alert = await hub.expect("alert", kind="receipt_not_printed")
    assert alert["subject"] == "booth-01" and alert["ticket"] == known["ticket"]
    assert reference in alert["detail"] and "paper out" in alert["detail"]
    db = branch.server.db
    (decided,) = (await db.call(case_view, db.sync, known["pairing"],
                                known["ticket"]))["decisions"]
    assert (decided["receipt"], decided["receipt_reason"]) == (
        "not_printed", "printer error: paper out")
    (entry,) = [r for r in branch.snapshot()["audit"] if r[3] == "receipt_not_printed"]
    assert entry[2] == "booth-01" and json.loads(entry[5]) == {
        "reference": reference, "ticket": known["ticket"], "reason": "printer error: paper out"}


async def test_a_printed_receipt_is_recorded_as_printed(branch: Branch) -> None:
    devices, known = await _seated(branch)
    hub, booth = devices["hub"], devices["booth"]
    sent = await hub.send({"type": "decision", "booth": "booth-01", "ticket": known["ticket"],
                           "outcome": "referred"})
    reference = (await hub.expect("verdict", ref=sent))["reference"]
    reply = await booth.request({"type": "receipt", "reference": reference, "printed": True})
    assert reply["type"] == "ok", reply
    db = branch.server.db
    (decided,) = (await db.call(case_view, db.sync, known["pairing"],
                                known["ticket"]))["decisions"]
    assert (decided["receipt"], decided["receipt_reason"]) == ("printed", "")
    assert [r[3] for r in branch.snapshot()["audit"] if r[3].startswith("receipt_")] == [
        "receipt_printed"]
