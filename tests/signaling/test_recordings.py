"""A session's recording uploaded by its hub after the session, over the resumable upload:
who may send and read it, resuming, and bad input of every kind."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from typing import Any

import pytest

from officer.recording import RecordingInfo, RecordingWriter
from signaling.recordings import MAX_RECORDING_BYTES
from signaling.store import DB_FILE
from tests.officer.recordmedia import Packets
from tests.signaling.conftest import Branch


@pytest.fixture(scope="module")
def webm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("rec") / "r.webm"
    writer = RecordingWriter(path, RecordingInfo("booth-01", "siti", "", "p-1", time.time()))
    for ms, track, data, keyframe in Packets().take(1.0):
        writer.write(track, data, ms, keyframe)
    writer.close()
    return path.read_bytes()


def auth(branch: Branch, device: str = "hub-01", role: str = "hub") -> dict[str, str]:
    return {"Authorization": f"Bearer {branch.token(role, device)}"}


async def open_upload(branch: Branch, data: bytes, session: str, *, device: str = "hub-01",
                      role: str = "hub", **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"booth": "booth-01", "pairing": session, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), **fields}
    async with branch.http.post(branch.url("/api/recordings"), json=body,
                                headers=auth(branch, device, role)) as r:
        return r.status, await r.json()


async def put(branch: Branch, upload: str, offset: int, chunk: bytes,
              device: str = "hub-01") -> tuple[int, dict[str, Any]]:
    async with branch.http.put(branch.url(f"/api/recordings/uploads/{upload}?offset={offset}"),
                               data=chunk, headers=auth(branch, device)) as r:
        return r.status, await r.json()


async def ended_session(branch: Branch) -> str:
    booth, _hub, pairing = await branch.pair()
    reply = await booth.request({"type": "release", "pairing": pairing, "reason": "done"})
    assert reply["type"] == "ok"
    return pairing


async def test_the_hub_uploads_after_the_session_resumes_and_reads_it_in_ranges(
        branch: Branch, webm: bytes) -> None:
    pairing = await ended_session(branch)
    status, opened = await open_upload(branch, webm, pairing)
    assert status == 201 and opened["ticket"] == f"pairing:{pairing}"
    upload = opened["upload"]
    third = len(webm) // 3
    assert (await put(branch, upload, 0, webm[:third]))[0] == 200
    # The connection was cut: the hub asks where to go on, a wrong offset is corrected.
    status, body = await put(branch, upload, 0, webm[:third])
    assert (status, body["offset"]) == (409, third)
    async with branch.http.get(branch.url(f"/api/recordings/uploads/{upload}"),
                               headers=auth(branch)) as r:
        assert (await r.json())["offset"] == third
    status, body = await put(branch, upload, third, webm[third:])
    assert status == 201 and body["status"] == "uploaded"
    document = body["document"]
    async with branch.http.get(branch.url(f"/api/recordings?ticket=pairing:{pairing}"),
                               headers=auth(branch)) as r:
        listed = (await r.json())["recordings"]
    assert [(d["id"], d["kind"], d["content_type"], d["booth"], d["uploaded_by"])
            for d in listed] == [(document, "recording", "video/webm", "booth-01", "hub-01")]
    async with branch.http.get(branch.url(f"/api/recordings/{document}"),
                               headers=auth(branch)) as r:
        assert r.status == 200 and await r.read() == webm
    async with branch.http.get(branch.url(f"/api/recordings/{document}"),
                               headers={**auth(branch), "Range": "bytes=100-199"}) as r:
        assert r.status == 206 and await r.read() == webm[100:200]
    with sqlite3.connect(branch.config.data_dir / DB_FILE) as db:
        actions = {row[0] for row in db.execute("SELECT action FROM audit")}
    assert {"document_upload_open", "document_uploaded", "recording_downloaded"} <= actions


async def test_only_the_hub_of_the_session_sends_and_reads_it(
        branch: Branch, webm: bytes) -> None:
    pairing = await ended_session(branch)
    assert (await open_upload(branch, webm, pairing, device="hub-02"))[0] == 403
    assert (await open_upload(branch, webm, pairing, device="booth-01", role="booth"))[0] == 403
    assert (await open_upload(branch, webm, "p-nothing"))[0] == 403
    assert (await open_upload(branch, webm, pairing, booth="booth-02"))[0] == 403
    _, opened = await open_upload(branch, webm, pairing)
    assert (await put(branch, opened["upload"], 0, webm, device="hub-02"))[0] == 404
    status, body = await put(branch, opened["upload"], 0, webm)
    assert status == 201
    async with branch.http.get(branch.url(f"/api/recordings/{body['document']}"),
                               headers=auth(branch, "hub-02")) as r:
        assert r.status == 403
    async with branch.http.get(branch.url(f"/api/recordings/{body['document']}")) as r:
        assert r.status == 401


async def test_bad_recordings_store_nothing_and_say_why(branch: Branch, webm: bytes) -> None:
    pairing = await ended_session(branch)
    picture = b"\xff\xd8\xff" + bytes(2000)
    _, opened = await open_upload(branch, picture, pairing)
    status, body = await put(branch, opened["upload"], 0, picture)
    assert (status, body["error"]) == (415, "unsupported_type")
    _, opened = await open_upload(branch, webm, pairing, sha256="0" * 64)
    status, body = await put(branch, opened["upload"], 0, webm)
    assert (status, body["error"]) == (422, "checksum_mismatch")
    for fields, code in (({"size": MAX_RECORDING_BYTES + 1}, 413), ({"size": 0}, 400),
                         ({"sha256": "ABC"}, 400), ({"booth": "Booth 1"}, 400),
                         ({"pairing": ""}, 400)):
        status, body = await open_upload(branch, webm, pairing, **fields)
        assert status == code, (fields, body)
        assert body["detail"]
    with sqlite3.connect(branch.config.data_dir / DB_FILE) as db:
        assert db.execute("SELECT count(*) FROM documents").fetchone() == (0,)


async def test_a_recording_is_not_listed_among_the_scanned_documents(
        branch: Branch, webm: bytes) -> None:
    """The documents' list of a ticket (the console's case) holds what the participant
    scanned; the recording is listed by /api/recordings."""
    _booth, _hub, pairing = await branch.pair()  # the session still on
    _, opened = await open_upload(branch, webm, pairing)
    status, body = await put(branch, opened["upload"], 0, webm)
    assert status == 201
    async with branch.http.get(branch.url(f"/api/documents?ticket=pairing:{pairing}"),
                               headers=auth(branch)) as r:
        assert r.status == 200 and (await r.json())["documents"] == []
    async with branch.http.get(branch.url(f"/api/recordings?ticket=pairing:{pairing}"),
                               headers=auth(branch)) as r:
        assert [d["id"] for d in (await r.json())["recordings"]] == [body["document"]]
