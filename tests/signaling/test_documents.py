"""The branch server's document store over real HTTP: resumable upload, who may see what,
bad input of every kind, retention."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from typing import Any

import aiohttp
import numpy as np
from PIL import Image

from signaling import documents
from signaling.documents import DOCUMENTS_KEY, MAX_DOCUMENT_BYTES, blob_path
from signaling.store import DB_FILE
from tests.signaling.conftest import Branch


def jpeg(seed: int = 0, size: tuple[int, int] = (320, 200)) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def auth(branch: Branch, device: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {branch.token(role, device)}"}


async def open_upload(branch: Branch, data: bytes, *, booth: str = "booth-01",
                      kind: str = "ktp", sha: str | None = None,
                      size: int | None = None) -> tuple[int, dict[str, Any]]:
    body = {"kind": kind, "size": len(data) if size is None else size,
            "sha256": sha or hashlib.sha256(data).hexdigest()}
    async with branch.http.post(branch.url("/api/documents"), json=body,
                                headers=auth(branch, booth, "booth")) as r:
        return r.status, await r.json()


async def put(branch: Branch, upload: str, offset: int, chunk: bytes,
              booth: str = "booth-01") -> tuple[int, dict[str, Any]]:
    async with branch.http.put(branch.url(f"/api/documents/uploads/{upload}?offset={offset}"),
                               data=chunk, headers=auth(branch, booth, "booth")) as r:
        return r.status, await r.json()


def rows(branch: Branch, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(branch.config.data_dir / DB_FILE) as db:
        return db.execute(sql).fetchall()


async def test_upload_in_chunks_then_the_paired_hub_is_told_and_downloads(branch: Branch) -> None:
    _booth, hub, pairing = await branch.pair()
    data = jpeg()
    status, opened = await open_upload(branch, data)
    assert status == 201 and opened["offset"] == 0
    upload = opened["upload"]
    half = len(data) // 2
    status, body = await put(branch, upload, 0, data[:half])
    assert (status, body["offset"]) == (200, half)
    status, body = await put(branch, upload, half, data[half:])
    assert status == 201 and body["status"] == "uploaded"
    doc = body["document"]
    update = await hub.expect("doc_update", document=doc)
    assert (update["status"], update["kind"], update["peer"]) == ("uploaded", "ktp", "booth-01")
    async with branch.http.get(branch.url(f"/api/documents/{doc}"),
                               headers=auth(branch, "hub-01", "hub")) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
        assert await r.read() == data
    sha = hashlib.sha256(data).hexdigest()
    assert blob_path(branch.config.data_dir / "documents", sha).read_bytes() == data
    (record,) = rows(branch, "SELECT ticket, booth, kind, size, sha256, content_type, "
                             "uploaded_by, status FROM documents")
    assert record == (f"pairing:{pairing}", "booth-01", "ktp", len(data), sha, "image/jpeg",
                      "booth-01", "uploaded")
    actions = [r[0] for r in rows(branch, "SELECT action FROM audit")]
    assert {"document_upload_open", "document_uploaded", "document_downloaded"} <= set(actions)
    async with branch.http.get(branch.url(f"/api/documents?ticket=pairing:{pairing}"),
                               headers=auth(branch, "hub-01", "hub")) as r:
        listed = await r.json()
    assert [d["id"] for d in listed["documents"]] == [doc]


async def test_a_lost_connection_resumes_from_the_offset_the_server_has(branch: Branch) -> None:
    await branch.pair()
    data = jpeg(1)
    _, opened = await open_upload(branch, data)
    upload = opened["upload"]
    await put(branch, upload, 0, data[:1000])
    # The booth thinks it sent more than arrived: the server says where to go on from.
    status, body = await put(branch, upload, 3000, data[3000:])
    assert status == 409 and body["offset"] == 1000
    async with branch.http.head(branch.url(f"/api/documents/uploads/{upload}"),
                                headers=auth(branch, "booth-01", "booth")) as r:
        assert r.headers["Upload-Offset"] == "1000"
    status, body = await put(branch, upload, 1000, data[1000:])
    assert status == 201
    # The reply was lost and the booth asks again: the same document, not a second one.
    status, again = await put(branch, upload, len(data), b"")
    assert status == 201 and again["document"] == body["document"]
    assert len(rows(branch, "SELECT id FROM documents")) == 1


async def test_a_wrong_checksum_stores_nothing(branch: Branch) -> None:
    await branch.pair()
    data = jpeg(2)
    _, opened = await open_upload(branch, data, sha="0" * 64)
    status, body = await put(branch, opened["upload"], 0, data)
    assert status == 422 and body["error"] == "checksum_mismatch"
    assert rows(branch, "SELECT id FROM documents") == []
    assert list((branch.config.data_dir / "documents" / "uploads").iterdir()) == []


async def test_a_file_that_is_not_a_picture_is_refused_whatever_it_claims(branch: Branch) -> None:
    await branch.pair()
    data = b"%PDF-1.4 not a scan" * 10
    _, opened = await open_upload(branch, data)
    status, body = await put(branch, opened["upload"], 0, data)
    assert status == 415 and "JPEG or PNG" in body["detail"]
    assert rows(branch, "SELECT id FROM documents") == []


async def test_size_limit_is_named_and_enforced(branch: Branch) -> None:
    await branch.pair()
    status, body = await open_upload(branch, b"x", size=MAX_DOCUMENT_BYTES + 1)
    assert status == 413 and str(MAX_DOCUMENT_BYTES) in body["detail"]
    data = jpeg(3)
    _, opened = await open_upload(branch, data)
    status, body = await put(branch, opened["upload"], 0, data + b"extra bytes")
    assert status == 413
    assert rows(branch, "SELECT id FROM documents") == []


async def test_bad_requests_get_clear_errors(branch: Branch) -> None:
    await branch.pair()
    for body, words in [
        ({"kind": "KTP!", "size": 10, "sha256": "0" * 64}, "kind"),
        ({"kind": "ktp", "size": -1, "sha256": "0" * 64}, "size"),
        ({"kind": "ktp", "size": True, "sha256": "0" * 64}, "size"),
        ({"kind": "ktp", "size": 10, "sha256": "xyz"}, "sha256"),
        ([1, 2], "object"),
    ]:
        async with branch.http.post(branch.url("/api/documents"), json=body,
                                    headers=auth(branch, "booth-01", "booth")) as r:
            assert r.status == 400 and words in (await r.json())["detail"]
    async with branch.http.post(branch.url("/api/documents"), data=b"\xff not json",
                                headers=auth(branch, "booth-01", "booth")) as r:
        assert r.status == 400
    _, opened = await open_upload(branch, jpeg(4))
    async with branch.http.put(branch.url(f"/api/documents/uploads/{opened['upload']}"),
                               data=b"abc", headers=auth(branch, "booth-01", "booth")) as r:
        assert r.status == 400 and "offset" in (await r.json())["detail"]


async def test_only_the_booth_in_session_uploads_and_only_its_hub_downloads(
    branch: Branch,
) -> None:
    await branch.pair("booth-01", "hub-01")
    await branch.pair("booth-02", "hub-02")
    # no token, a bad token, a hub's token
    async with branch.http.post(branch.url("/api/documents"), json={}) as r:
        assert r.status == 401
    async with branch.http.post(branch.url("/api/documents"), json={},
                                headers={"Authorization": "Bearer bk1.nonsense"}) as r:
        assert r.status == 401
    status, _ = await open_upload(branch, jpeg(), booth="hub-01")
    assert status in (401, 403)
    # a booth without a session
    await branch.connect("booth-03", "booth")
    status, body = await open_upload(branch, jpeg(), booth="booth-03")
    assert status == 403 and body["error"] == "not_in_session"
    # another booth cannot write into booth-01's upload
    data = jpeg(5)
    _, opened = await open_upload(branch, data)
    status, _ = await put(branch, opened["upload"], 0, data, booth="booth-02")
    assert status == 404
    status, body = await put(branch, opened["upload"], 0, data)
    doc = body["document"]
    for device, role, expected in [("hub-02", "hub", 403), ("booth-01", "booth", 403)]:
        async with branch.http.get(branch.url(f"/api/documents/{doc}"),
                                   headers=auth(branch, device, role)) as r:
            assert r.status == expected
    async with branch.http.get(branch.url("/api/documents/d-0000000000000000"),
                               headers=auth(branch, "hub-01", "hub")) as r:
        assert r.status == 404


async def test_the_hubs_verdict_on_a_document_is_recorded_and_reaches_the_booth(
    branch: Branch,
) -> None:
    booth, hub, pairing = await branch.pair()
    data = jpeg(6)
    _, opened = await open_upload(branch, data)
    _, body = await put(branch, opened["upload"], 0, data)
    doc = body["document"]
    await hub.send({"type": "doc_update", "peer": "booth-01", "pairing": pairing,
                    "document": doc, "kind": "ktp", "status": "rescan",
                    "reason": "NIK tidak terbaca"})
    update = await booth.expect("doc_update", document=doc)
    assert (update["status"], update["reason"], update["peer"]) == (
        "rescan", "NIK tidak terbaca", "hub-01")
    assert rows(branch, "SELECT status, reason FROM documents") == [
        ("rescan", "NIK tidak terbaca")]
    await hub.send({"type": "doc_update", "peer": "booth-01", "pairing": pairing,
                    "document": "d-ffffffffffffffff", "kind": "ktp", "status": "accepted"})
    bogus = await hub.expect("error")
    assert "not of this session" in bogus["detail"]


async def test_retention_deletes_files_after_the_session_and_keeps_the_record(
    branch: Branch,
) -> None:
    _, _, pairing = await branch.pair()
    data = jpeg(7)
    _, opened = await open_upload(branch, data)
    _, _body = await put(branch, opened["upload"], 0, data)
    store = branch.app[DOCUMENTS_KEY]
    path = blob_path(store.root, hashlib.sha256(data).hexdigest())
    assert await store.sweep() == 0 and path.exists()  # session still going
    await branch.server.release(pairing, documents.p.ReleaseReason.DONE, actor="test")
    now = branch.server.clock()
    db = branch.server.db
    kept = await db.call(documents.sweep, db.sync, store.root, now + documents.RETENTION_S - 60)
    assert kept == 0 and path.exists()
    deleted = await db.call(documents.sweep, db.sync, store.root, now + documents.RETENTION_S + 60)
    assert deleted == 1 and not path.exists()
    assert rows(branch, "SELECT status FROM documents") == [("deleted",)]
    assert ("document_deleted",) in rows(branch, "SELECT action FROM audit")


async def test_unfinished_uploads_are_dropped_after_a_day(branch: Branch) -> None:
    await branch.pair()
    data = jpeg(8)
    _, opened = await open_upload(branch, data)
    await put(branch, opened["upload"], 0, data[:100])
    store = branch.app[DOCUMENTS_KEY]
    db = branch.server.db
    await db.call(documents.sweep, db.sync, store.root,
                  branch.server.clock() + documents.STALE_UPLOAD_S + 1)
    assert list((store.root / "uploads").iterdir()) == []
    status, _ = await put(branch, opened["upload"], 100, data[100:])
    assert status == 404


async def test_an_http_client_can_stream_a_chunk_bigger_than_a_websocket_frame(
    branch: Branch,
) -> None:
    await branch.pair()
    data = jpeg(9, size=(900, 700))
    assert len(data) > 300_000  # above the server's 256 KB client_max_size
    _, opened = await open_upload(branch, data)
    status, _ = await put(branch, opened["upload"], 0, data)
    assert status == 201
    assert isinstance(branch.http, aiohttp.ClientSession)
