"""The head office over real HTTP on a real PostgreSQL: a bundle uploaded in chunks is
verified, stored once and acknowledged; the same bundle again is acknowledged again and
stored once; altered, forged or unsigned traffic is refused, saying why; an upload begun at
one head-office process is finished at another."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bilik.cli import main
from bilik.evidence import bundle, keys
from tests.evidence.claims import JPEG, make_claim
from tests.headoffice.conftest import HeadOffice, register, signed

pytestmark = pytest.mark.slow

BRANCH = "kc-01"
KEY = Ed25519PrivateKey.generate()


def made(tmp_path: Path, reference: str = "KLM-20261207-0A1B2C3D",
         key: Ed25519PrivateKey = KEY) -> tuple[Path, str, int]:
    target = tmp_path / f"{reference}-{keys.key_id(key)[:6]}.zip"
    sha, size = bundle.write(make_claim(tmp_path, reference=reference), key, target)
    return target, sha, size


async def upload(http: aiohttp.ClientSession, office: str, path: Path, sha: str, *,
                 reference: str = "KLM-20261207-0A1B2C3D", chunk: int = 4096,
                 key: Ed25519PrivateKey = KEY, stop_after: int | None = None) -> tuple[int, Any]:
    data = await asyncio.to_thread(path.read_bytes)
    status, body = await signed(http, office, key, BRANCH, "POST", "/api/bundles",
                                json={"reference": reference, "sha256": sha, "size": len(data)})
    if body.get("state") == "stored" or status not in (200, 201):
        return status, body
    offset, sent = body["offset"], 0
    while offset < len(data):
        if stop_after is not None and sent >= stop_after:
            return 0, {"offset": offset, "upload": body["upload"]}
        status, put = await signed(http, office, key, BRANCH, "PUT",
                                   f"/api/bundles/uploads/{body['upload']}?offset={offset}",
                                   data=data[offset:offset + chunk])
        assert status == 200, put
        offset, sent = put["offset"], sent + 1
    return await signed(http, office, key, BRANCH, "POST",
                        f"/api/bundles/uploads/{body['upload']}/finish")


async def rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_a_bundle_is_verified_stored_once_and_acknowledged_again(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await register(dsn, BRANCH, KEY)
    path, sha, size = made(tmp_path)
    status, ack = await upload(http, headoffice.url, path, sha)
    assert status == 201 and ack == {"state": "stored", "reference": "KLM-20261207-0A1B2C3D",
                                     "sha256": sha, "duplicate": False}
    (row,) = await rows(dsn, "SELECT branch, reference, sha256, size, files, manifest "
                             "FROM bundles")
    assert (row["branch"], row["sha256"], row["size"]) == (BRANCH, sha, size)
    assert json.loads(row["manifest"])["reference"] == "KLM-20261207-0A1B2C3D"
    blob = headoffice.config.blob_dir / "bundles" / BRANCH / sha[:2] / f"{sha}.zip"
    assert blob.read_bytes() == path.read_bytes()
    assert await rows(dsn, "SELECT * FROM uploads") == []

    status, again = await upload(http, headoffice.url, path, sha)
    assert status == 200 and again["state"] == "stored" and again["duplicate"] is True
    assert len(await rows(dsn, "SELECT 1 FROM bundles")) == 1


async def test_another_bundle_for_a_stored_claim_is_a_conflict(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await register(dsn, BRANCH, KEY)
    path, sha, _ = made(tmp_path)
    assert (await upload(http, headoffice.url, path, sha))[0] == 201
    other = tmp_path / "other.zip"
    claim = dataclasses.replace(make_claim(tmp_path), created=1_800_000_999.0)  # built again
    other_sha, _ = bundle.write(claim, KEY, other)
    assert other_sha != sha
    status, body = await upload(http, headoffice.url, other, other_sha)
    assert status == 409 and "another bundle of claim KLM-20261207-0A1B2C3D" in body["detail"]


async def test_an_altered_bundle_is_refused_and_recorded(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await register(dsn, BRANCH, KEY)
    path, _sha, _ = made(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[raw.index(JPEG[:20]) + 50] ^= 0xFF
    path.write_bytes(bytes(raw))
    sha = hashlib.sha256(raw).hexdigest()
    status, body = await upload(http, headoffice.url, path, sha)
    assert status == 422 and body["error"] == "bundle_invalid"
    assert any("documents/d-00000000000000a1.jpg: its bytes were altered" in p
               for p in body["problems"]), body
    assert await rows(dsn, "SELECT 1 FROM bundles") == []
    (refusal,) = await rows(dsn, "SELECT branch, reference, problems FROM refusals")
    assert refusal["branch"] == BRANCH and "altered" in refusal["problems"]


async def test_a_bundle_signed_by_another_key_is_refused(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await register(dsn, BRANCH, KEY)
    path, sha, _ = made(tmp_path, key=Ed25519PrivateKey.generate())
    status, body = await upload(http, headoffice.url, path, sha)
    assert status == 422 and body["problems"][0].startswith("signed by key")


async def test_requests_must_be_signed_by_a_registered_branch(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession) -> None:
    await register(dsn, BRANCH, KEY)
    body = {"reference": "KLM-1", "sha256": "0" * 64, "size": 10}
    async with http.post(headoffice.url + "/api/bundles", json=body) as r:
        assert r.status == 401 and "no X-Bilik-Branch header" in (await r.json())["detail"]
    status, reply = await signed(http, headoffice.url, KEY, "kc-99", "POST", "/api/bundles",
                                 json=body)
    assert status == 403 and reply["error"] == "unknown_branch"
    status, reply = await signed(http, headoffice.url, Ed25519PrivateKey.generate(), BRANCH,
                                 "POST", "/api/bundles", json=body)
    assert status == 401 and "not signed by branch kc-01's registered key" in reply["detail"]
    status, reply = await signed(http, headoffice.url, KEY, BRANCH, "POST", "/api/bundles",
                                 json=body, now=1_000_000.0)
    assert status == 401 and "check the branch server's clock" in reply["detail"]
    status, reply = await signed(http, headoffice.url, KEY, BRANCH, "POST", "/api/bundles",
                                 json={"reference": "../x", "sha256": "0" * 64, "size": 10})
    assert status == 400 and "reference" in reply["detail"]


async def test_an_upload_resumes_from_the_offset_the_head_office_has(
        start_headoffice: Any, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """Begun at one process, the wrong offset corrected, finished at another."""
    await register(dsn, BRANCH, KEY)
    first, second = await start_headoffice(), await start_headoffice()
    path, sha, size = made(tmp_path)
    status, partial = await upload(http, first.url, path, sha, stop_after=2)
    assert status == 0 and partial["offset"] == 8192
    status, reply = await signed(http, second.url, KEY, BRANCH, "PUT",
                                 f"/api/bundles/uploads/{partial['upload']}?offset=0",
                                 data=b"x" * 10)
    assert status == 409 and reply["offset"] == 8192
    status, body = await signed(http, second.url, KEY, BRANCH, "POST", "/api/bundles",
                                json={"reference": "KLM-20261207-0A1B2C3D", "sha256": sha,
                                      "size": size})
    assert status == 201 and body["offset"] == 8192 and body["upload"] == partial["upload"]
    status, ack = await upload(http, second.url, path, sha)
    assert status == 201 and ack["duplicate"] is False
    assert len(await rows(dsn, "SELECT 1 FROM bundles")) == 1


async def test_bookings_are_imported_and_each_branch_pulls_its_own_day(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    await register(dsn, BRANCH, KEY)
    other = Ed25519PrivateKey.generate()
    await register(dsn, "kc-02", other)
    (tmp_path / "bookings.json").write_text(json.dumps([
        {"code": "BK-0001", "service": "jht", "slot": "2026-12-07T09:00:00+07:00",
         "branch": "kc-01", "name": "SITI"},
        {"code": "BK-0002", "service": "jht", "slot": "2026-12-08T09:00:00+07:00",
         "branch": "kc-01"},
        {"code": "BK-0003", "service": "jht", "slot": "2026-12-07T10:00:00+07:00",
         "branch": "kc-02"},
    ]))
    assert await asyncio.to_thread(main, ["headoffice", "bookings", "import",
                                          str(tmp_path / "bookings.json"), "--dsn", dsn]) == 0
    assert "3 bookings imported" in capsys.readouterr().out
    status, body = await signed(http, headoffice.url, KEY, BRANCH, "GET",
                                "/api/bookings?day=2026-12-07")
    assert status == 200 and [a["code"] for a in body["appointments"]] == ["BK-0001"]
    status, body = await signed(http, headoffice.url, other, "kc-02", "GET",
                                "/api/bookings?day=2026-12-07")
    assert [a["code"] for a in body["appointments"]] == ["BK-0003"]
    status, body = await signed(http, headoffice.url, KEY, BRANCH, "GET",
                                "/api/bookings?day=7-12-2026")
    assert status == 400 and "YYYY-MM-DD" in body["detail"]


def test_branch_add_and_list_from_the_command_line(
        dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kc-01.pem").write_text(keys.public_pem(KEY))
    assert main(["headoffice", "branch", "add", "kc-01", "--public-key",
                 str(tmp_path / "kc-01.pem"), "--dsn", dsn]) == 0
    assert f"branch kc-01 registered with key {keys.key_id(KEY)[:16]}" in capsys.readouterr().out
    assert main(["headoffice", "branch", "list", "--dsn", dsn]) == 0
    assert json.loads(capsys.readouterr().out)["key_id"] == keys.key_id(KEY)
    (tmp_path / "bad.pem").write_text("not a key")
    assert main(["headoffice", "branch", "add", "kc-01", "--public-key",
                 str(tmp_path / "bad.pem"), "--dsn", dsn]) == 1
    assert "is not a PEM public key" in capsys.readouterr().err
    assert main(["headoffice", "branch", "add", "KC 01", "--public-key",
                 str(tmp_path / "kc-01.pem"), "--dsn", dsn]) == 1
    assert "branch id 'KC 01' must be" in capsys.readouterr().err


def test_an_unreachable_database_is_one_clear_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from headoffice.scratchdb import free_port

    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    assert main(["headoffice", "branch", "list", "--dsn", dsn]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bilik headoffice: error: cannot connect to PostgreSQL at")


async def test_stale_uploads_are_swept_and_metrics_count(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    from headoffice.app import RECEIVER_KEY

    await register(dsn, BRANCH, KEY)
    path, sha, _ = made(tmp_path)
    _status, partial = await upload(http, headoffice.url, path, sha, stop_after=1)
    part = headoffice.config.blob_dir / "parts" / f"{partial['upload']}.part"
    assert part.exists()
    receiver = headoffice.app[RECEIVER_KEY]
    assert await receiver.sweep_stale(3600.0) == 0  # fresh: kept
    assert await receiver.sweep_stale(0.0) == 1
    assert not part.exists() and await rows(dsn, "SELECT * FROM uploads") == []
    async with http.get(headoffice.url + "/metrics") as r:
        assert "bilik_headoffice_upload_bytes_total 4096.0" in await r.text()


async def test_the_same_bundle_sent_to_two_processes_at_once_is_stored_once(
        start_headoffice: Any, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """Two uploads of one bundle race through two head offices on one database (the branch's
    retry crossing its first try): both are acknowledged, one row, one file."""
    import time

    from signaling.headofficelink import HeadOfficeLink

    await register(dsn, BRANCH, KEY)
    first, second = await start_headoffice(), await start_headoffice()
    path, sha, size = made(tmp_path)
    links = [HeadOfficeLink([office.url], BRANCH, KEY, http, time.time, chunk_bytes=2048)
             for office in (first, second)]
    acks = await asyncio.gather(*(link.send(path, "KLM-20261207-0A1B2C3D", sha, size)
                                  for link in links))
    assert all(ack.sha256 == sha for ack in acks)
    assert len(await rows(dsn, "SELECT 1 FROM bundles")) == 1
    assert await rows(dsn, "SELECT 1 FROM uploads") == []
    stored = list((first.config.blob_dir / "bundles").rglob("*.zip"))
    assert [p.read_bytes() == path.read_bytes() for p in stored] == [True]


async def test_a_bundle_of_another_branch_is_refused(
        headoffice: HeadOffice, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """kc-02 replays kc-01's bundle (both keys registered, here one key for both): refused."""
    await register(dsn, BRANCH, KEY)
    await register(dsn, "kc-02", KEY)
    path, sha, size = made(tmp_path)
    data = await asyncio.to_thread(path.read_bytes)
    status, body = await signed(http, headoffice.url, KEY, "kc-02", "POST", "/api/bundles",
                                json={"reference": "KLM-20261207-0A1B2C3D", "sha256": sha,
                                      "size": size})
    assert status == 201
    status, _ = await signed(http, headoffice.url, KEY, "kc-02", "PUT",
                             f"/api/bundles/uploads/{body['upload']}?offset=0", data=data)
    assert status == 200
    status, body = await signed(http, headoffice.url, KEY, "kc-02", "POST",
                                f"/api/bundles/uploads/{body['upload']}/finish")
    assert status == 422 and body["problems"] == ["the bundle is branch kc-01's, sent by kc-02"]


def test_an_unusable_blob_directory_is_one_clear_line(
        dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from headoffice.scratchdb import free_port

    (tmp_path / "file").write_text("x")
    assert main(["headoffice", "--dsn", dsn, "--blob-dir", str(tmp_path / "file" / "blobs"),
                 "--port", str(free_port())]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"bilik headoffice: error: blob directory {tmp_path}/file/blobs "
                          "cannot be used: Not a directory")


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "the bookings file is not JSON: Expecting property name enclosed in double "
                  "quotes: line 1 column 2 (char 1)"),
    ('[{"code": "BK-0001", "service": "jht", "slot": "2026-12-07T09:00"}, {"service": "jht"}]',
     "booking 1: no branch (give --branch or a branch field)"),
    ('[{"code": "BK-0001", "service": "jht", "slot": "2026-12-07T09:00", "branch": "kc-01"}, '
     '{"service": "jht", "slot": "2026-12-07T09:00", "branch": "kc-01"}]',
     "booking 2: code must be 4-32 letters, digits or '-'"),
    ('[{"code": "BK-0001", "service": "jht", "slot": "07-12-2026 09:00", "branch": "kc-01"}]',
     "booking 1: slot: day '07-12-2026' must be YYYY-MM-DD"),
])
def test_a_bad_bookings_file_is_named_and_nothing_imported(
        dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
        message: str) -> None:
    (tmp_path / "b.json").write_text(content)
    assert main(["headoffice", "bookings", "import", str(tmp_path / "b.json"),
                 "--dsn", dsn]) == 1
    assert capsys.readouterr().err.strip() == f"bilik headoffice: error: {message}"
