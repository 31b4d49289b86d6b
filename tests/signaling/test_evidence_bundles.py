"""The branch server builds a signed evidence bundle for each decided claim: the documents
and their files, what was read from them, the decision, the case's audit entries; it
verifies offline with the branch's public key. Without a head office it is kept, and counted
in the backlog on /metrics."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

from bilik.catalogue.consent import CURRENT_WORDING
from bilik.evidence import bundle, keys
from signaling.consentrecords import ConsentRecord, record_consent
from tests.signaling.conftest import Branch, wait_until
from tests.signaling.test_documents import auth, jpeg, open_upload, put
from tests.signaling.test_fuzz_roles import _seated


async def outbox(branch: Branch) -> dict[str, Any]:
    async with branch.http.get(branch.url("/api/evidence/outbox"),
                               headers=auth(branch, "ops-1", "admin")) as r:
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def decide_with_a_document(branch: Branch) -> tuple[str, bytes, dict[str, str]]:
    devices, known = await _seated(branch)
    data = jpeg(7)
    status, opened = await open_upload(branch, data)
    assert status == 201, opened
    status, done = await put(branch, opened["upload"], 0, data)
    assert status == 201, done
    doc = done["document"]
    async with branch.http.post(branch.url(f"/api/documents/{doc}/reading"),
                                headers=auth(branch, "booth-01", "booth"),
                                json={"nik": "3171234567890001", "name": "SITI RAHAYU",
                                      "confidence": 88.0}) as r:
        assert r.status in (200, 201), await r.text()
    sent = await devices["hub"].send({"type": "decision", "booth": "booth-01",
                                      "ticket": known["ticket"], "outcome": "referred",
                                      "note": "dokumen lengkap"})
    verdict = await devices["hub"].expect("verdict", ref=sent)
    return str(verdict["reference"]), data, {**known, "document": doc}


async def test_a_decided_claim_gets_a_bundle_that_verifies_with_the_branch_key(
        branch: Branch, tmp_path: Path) -> None:
    reference, data, known = await decide_with_a_document(branch)
    data_dir = branch.config.data_dir
    assert stat.S_IMODE(keys.key_path(data_dir).stat().st_mode) == 0o600
    listed = await wait_until(
        lambda: _built(branch, reference), f"the bundle of {reference} to be built")
    assert listed["state"] == "built"

    async with branch.http.get(branch.url(f"/api/evidence/{reference}"),
                               headers=auth(branch, "ops-1", "admin")) as r:
        assert r.status == 200
        (tmp_path / "b.zip").write_bytes(await r.read())
    assert hashlib.sha256((tmp_path / "b.zip").read_bytes()).hexdigest() == listed["sha256"]
    public = keys.load_or_create(data_dir).public_key()
    result = bundle.verify(tmp_path / "b.zip", public)
    assert result.reference == reference and result.branch == branch.config.branch

    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        decision = json.loads(zf.read("decision.json"))
        documents = json.loads(zf.read("documents.json"))
        readings = json.loads(zf.read("readings.json"))
        audit = [json.loads(line) for line in zf.read("audit.jsonl").splitlines()]
        assert zf.read(documents[0]["file"]) == data
        names = zf.namelist()
    assert decision["outcome"] == "referred" and decision["note"] == "dokumen lengkap"
    assert decision["ticket"] == known["ticket"] and decision["officer"] == "officer-1"
    assert [d["id"] for d in documents] == [known["document"]]
    assert readings[0]["nik"] == "3171234567890001"
    actions = [e["action"] for e in audit]
    assert "decision" in actions and "document_uploaded" in actions and "pair" in actions
    assert actions[-1] == "decision"  # the bundle is the case up to its decision
    assert "officer_added" not in actions  # other subjects stay out
    assert not any(n.startswith(("consent", "recording")) for n in names)


async def test_without_a_head_office_the_bundle_is_kept_and_counted(branch: Branch) -> None:
    reference, _data, _known = await decide_with_a_document(branch)
    await wait_until(lambda: _built(branch, reference), "the bundle to be built")
    body = await outbox(branch)
    assert body["backlog"] == 1
    async with branch.http.get(branch.url("/metrics")) as r:
        text = await r.text()
    assert "bilik_outbox_backlog 1.0" in text
    assert "bilik_outbox_oldest_age_seconds" in text
    # With nothing to send to, a built bundle is no work: the outbox rests, it does not spin.
    from signaling.outbox import IDLE_S, OUTBOX_KEY

    assert await branch.app[OUTBOX_KEY].step() == IDLE_S


async def test_a_decision_recorded_before_a_restart_is_bundled_after_it(
        start_branch: Any) -> None:
    first = await start_branch()
    reference, _data, _known = await decide_with_a_document(first)
    await first.stop()
    # The outbox row and the bundle are rebuilt from the decisions table at start: drop both,
    # as if the server had died between the decision and the outbox's pass.
    import sqlite3

    from signaling.store import DB_FILE
    with sqlite3.connect(first.config.data_dir / DB_FILE) as db:
        db.execute("DELETE FROM evidence_outbox")
    again = await start_branch()
    listed = await wait_until(lambda: _built(again, reference), "the bundle after a restart")
    assert listed["state"] == "built"


async def test_an_unknown_bundle_is_a_404(branch: Branch) -> None:
    async with branch.http.get(branch.url("/api/evidence/KLM-20260101-00000000"),
                               headers=auth(branch, "ops-1", "admin")) as r:
        assert r.status == 404 and (await r.json())["error"] == "not_found"
    async with branch.http.get(branch.url("/api/evidence/outbox")) as r:
        assert r.status == 401


async def _built(branch: Branch, reference: str) -> dict[str, Any] | None:
    body = await outbox(branch)
    for row in body["bundles"]:
        if row["reference"] == reference and row["state"] != "pending":
            return dict(row)
    return None


async def test_an_accepted_consent_waits_for_the_recording_and_both_go_in_the_bundle(
        branch: Branch, tmp_path: Path) -> None:
    """The consent feature's record (stored with its own store function) and the recording (a
    document of kind ``recording`` uploaded by the hub after the session, written here as that
    feature writes it); the bundle waits for the recording, then holds both, the consent as
    the consent record's own JSON."""
    import sqlite3
    import time

    from signaling.documentrecords import blob_path
    from signaling.outbox import OUTBOX_KEY
    from signaling.store import DB_FILE

    devices, known = await _seated(branch)
    db_path = branch.config.data_dir / DB_FILE
    record = ConsentRecord(known["ticket"], "booth-01", known["pairing"], "hub-01",
                           CURRENT_WORDING, True, 1_796_623_262.125, False)
    db = branch.server.db
    await db.call(record_consent, db.sync, record, time.time())
    sent = await devices["hub"].send({"type": "decision", "booth": "booth-01",
                                      "ticket": known["ticket"], "outcome": "referred"})
    reference = (await devices["hub"].expect("verdict", ref=sent))["reference"]
    await wait_until(lambda: _waiting(branch, reference), "the bundle to wait for the recording")

    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm" + bytes(5000)
    sha = hashlib.sha256(webm).hexdigest()
    blob = blob_path(branch.config.data_dir / "documents", sha)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(webm)
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO documents (id, ticket, booth, pairing, kind, size, sha256, "
                   "content_type, uploaded_by, at, status) VALUES ('d-00000000000000000000ab', "
                   "?, 'booth-01', ?, 'recording', ?, ?, 'video/webm', 'hub-01', ?, "
                   "'uploaded')", (known["ticket"], known["pairing"], len(webm), sha,
                                   time.time()))
    branch.app[OUTBOX_KEY].wake()
    # The waiting bundle looks for its recording every RECORDING_POLL_S (5 s).
    await wait_until(lambda: _built(branch, reference), "the bundle once the recording is in",
                     timeout=60.0)
    async with branch.http.get(branch.url(f"/api/evidence/{reference}"),
                               headers=auth(branch, "ops-1", "admin")) as r:
        (tmp_path / "b.zip").write_bytes(await r.read())
    bundle.verify(tmp_path / "b.zip", keys.load_or_create(branch.config.data_dir).public_key())
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        consent = json.loads(zf.read("consent.json"))
        assert zf.read("recording/d-00000000000000000000ab.webm") == webm
        documents = json.loads(zf.read("documents.json"))
    assert consent == {"ticket": known["ticket"], "booth": "booth-01",
                       "wording": CURRENT_WORDING, "accepted": True,
                       "at": "2026-12-07T06:01:02.125Z", "required": False}
    assert consent == record.to_json()
    assert [d["file"] for d in documents if d["kind"] == "recording"] == [
        "recording/d-00000000000000000000ab.webm"]


async def _waiting(branch: Branch, reference: str) -> bool:
    body = await outbox(branch)
    return any(r["reference"] == reference and r["state"] == "pending"
               and r["last_error"] == "waiting for the recording" for r in body["bundles"])
