"""The session recordings on the manager's page over HTTP: found by a case's ticket or its
claim reference, read in byte ranges, bad input refused, a deleted one gone."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from officer.recording import RecordingInfo, RecordingWriter
from signaling import people
from signaling.managersessions import COOKIE
from signaling.store import DB_FILE
from tests.officer.recordmedia import Packets
from tests.signaling.conftest import Branch
from tests.signaling.test_fuzz_roles import _seated
from tests.signaling.test_manager_http import MANAGER, PIN, get, sign_in
from tests.signaling.test_recordings import open_upload, put


def small_recording(path: Path) -> bytes:
    writer = RecordingWriter(path, RecordingInfo("booth-01", "siti", "", "p-1", time.time()))
    for ms, track, data, keyframe in Packets().take(0.5):
        writer.write(track, data, ms, keyframe)
    writer.close()
    return path.read_bytes()


async def test_a_decided_cases_recording_is_found_by_its_claim_reference(
        branch: Branch, tmp_path: Path) -> None:
    db = branch.server.db
    await db.call(people.add_manager, db.sync, MANAGER, PIN, "", time.time(), "test")
    devices, known = await _seated(branch)
    sent = await devices["hub"].send({"type": "decision", "booth": "booth-01",
                                      "ticket": known["ticket"], "outcome": "referred"})
    reference = (await devices["hub"].expect("verdict", ref=sent))["reference"]
    data = small_recording(tmp_path / "r.webm")
    status, opened = await open_upload(branch, data, known["pairing"])
    assert status == 201, opened
    status, done = await put(branch, opened["upload"], 0, data)
    assert status == 201, done
    document = done["document"]
    status, _body, cookie = await sign_in(branch)
    assert status == 200

    for case in (reference, known["ticket"], ""):
        status, body = await get(branch, f"/manager/api/recordings?case={case}", cookie)
        assert status == 200, body
        assert [(r["id"], r["ticket"], r["booth"], r["size"]) for r in body["recordings"]] == [
            (document, known["ticket"], "booth-01", len(data))], case
    status, body = await get(branch, "/manager/api/recordings?case=A999", cookie)
    assert (status, body["recordings"]) == (200, [])
    status, body = await get(branch, "/manager/api/recordings?case=A%0A1", cookie)
    assert (status, body["error"]) == (400, "bad_case")

    headers = {"Cookie": f"{COOKIE}={cookie}", "Range": "bytes=0-15"}
    async with branch.http.get(branch.url(f"/manager/api/recordings/{document}"),
                               headers=headers) as r:
        assert r.status == 206 and r.headers["Content-Type"] == "video/webm"
        assert await r.read() == data[:16]
    status, body = await get(branch, "/manager/api/recordings/not-an-id", cookie)
    assert (status, body["error"]) == (404, "unknown_recording")

    with sqlite3.connect(branch.config.data_dir / DB_FILE) as sql:  # the retention rule ran
        sql.execute("UPDATE documents SET status='deleted' WHERE id=?", (document,))
    status, body = await get(branch, f"/manager/api/recordings/{document}", cookie)
    assert (status, body["error"]) == (410, "deleted")
