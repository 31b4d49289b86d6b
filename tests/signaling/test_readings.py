"""The NIK and names the booth read from each document are stored with it, and the hub
serving the claim gets them with the mismatches between the documents."""

from __future__ import annotations

from typing import Any

from tests.signaling.conftest import Branch
from tests.signaling.test_documents import auth, jpeg, open_upload, put, rows

SITI = "3171234506780001"
BUDI = "3171231203750002"


async def _upload(branch: Branch, kind: str, seed: int) -> str:
    data = jpeg(seed)
    status, opened = await open_upload(branch, data, kind=kind)
    assert status == 201, opened
    status, body = await put(branch, opened["upload"], 0, data)
    assert status == 201, body
    return str(body["document"])


async def _post(branch: Branch, doc: str, body: Any, booth: str = "booth-01"
                ) -> tuple[int, dict[str, Any]]:
    async with branch.http.post(branch.url(f"/api/documents/{doc}/reading"), json=body,
                                headers=auth(branch, booth, "booth")) as r:
        return r.status, await r.json()


async def _get(branch: Branch, ticket: str, hub: str = "hub-01") -> tuple[int, dict[str, Any]]:
    async with branch.http.get(branch.url(f"/api/readings?ticket={ticket}"),
                               headers=auth(branch, hub, "hub")) as r:
        return r.status, await r.json()


async def test_readings_reach_the_hub_with_the_mismatches(branch: Branch) -> None:
    _booth, _hub, pairing = await branch.pair()
    ticket = f"pairing:{pairing}"
    ktp, kk = await _upload(branch, "ktp", 1), await _upload(branch, "kk", 2)
    status, _ = await _post(branch, ktp, {"nik": SITI, "name": "SITI RAHAYU",
                                          "confidence": 91.5})
    assert status == 200
    status, _ = await _post(branch, kk, {
        "nik": BUDI, "name": "BUDI SANTOSO", "confidence": 88,
        "people": [{"nik": BUDI, "name": "BUDI SANTOSO", "confidence": 88}]})
    assert status == 200
    status, body = await _get(branch, ticket)
    assert status == 200
    assert [(r["kind"], r["nik"], r["name"]) for r in body["readings"]] == [
        ("ktp", SITI, "SITI RAHAYU"), ("kk", BUDI, "BUDI SANTOSO")]
    assert body["readings"][1]["people"] == [{"nik": BUDI, "name": "BUDI SANTOSO",
                                              "confidence": 88.0}]
    assert [f["kind"] for f in body["flags"]] == ["nik_not_on_kk"]
    assert SITI in body["flags"][0]["detail"]
    # The family card scanned again, now with her on it: no flag any more.
    kk2 = await _upload(branch, "kk", 3)
    await _post(branch, kk2, {"nik": BUDI, "name": "BUDI SANTOSO", "people": [
        {"nik": BUDI, "name": "BUDI SANTOSO"}, {"nik": SITI, "name": "SITI RAHAYU"}]})
    _, body = await _get(branch, ticket)
    assert body["flags"] == []


async def test_bad_readings_are_refused_by_name_and_store_nothing(branch: Branch) -> None:
    await branch.pair()
    doc = await _upload(branch, "ktp", 1)
    for bad, field in [({"nik": "31712345O6780001"}, "nik"), ({"nik": "1" * 17}, "nik"),
                       ({"name": "A" * 81}, "name"), ({"confidence": 101}, "confidence"),
                       ({"people": [{"nik": SITI, "name": 5}]}, "name"),
                       ({"people": "all"}, "people"), ({"problems": ["x" * 301]}, "problems"),
                       ([1, 2], "object")]:
        status, body = await _post(branch, doc, bad)
        assert status == 400 and field in body["detail"], (bad, body)
    assert rows(branch, "SELECT * FROM document_readings") == []


async def test_only_the_uploading_booth_writes_and_only_the_serving_hub_reads(
        branch: Branch) -> None:
    _booth, _hub, pairing = await branch.pair()
    doc = await _upload(branch, "ktp", 1)
    status, body = await _post(branch, doc, {"nik": SITI}, booth="booth-02")
    assert status == 404 and body["error"] == "unknown_document"
    assert (await _post(branch, "d-" + "0" * 24, {"nik": SITI}))[0] == 404
    await _post(branch, doc, {"nik": SITI, "name": "SITI RAHAYU"})
    status, body = await _get(branch, f"pairing:{pairing}", hub="hub-02")
    assert status == 403
