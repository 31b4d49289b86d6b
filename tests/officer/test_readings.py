"""What the booth's OCR read reaches the officer's console: the NIK and name beside each
document, and the mismatches between the claim's documents, through the real server and hub."""

from __future__ import annotations

import hashlib
from typing import Any

import aiohttp

from officer.console import state
from tests.helpers import until
from tests.officer.conftest import Branch
from tests.signaling.test_documents import jpeg

SITI = "3171234506780001"
BUDI = "3171231203750002"


async def upload(branch: Branch, booth: str, kind: str, seed: int,
                 reading: dict[str, Any]) -> str:
    """What a booth does with a captured document: upload it, then post what it read."""
    data = jpeg(seed)
    auth = {"Authorization": f"Bearer {branch.token(booth, 'booth')}"}
    base = f"http://127.0.0.1:{branch.server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/documents", headers=auth, json={
                "kind": kind, "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest()}) as r:
            assert r.status == 201, await r.text()
            opened = await r.json()
        async with http.put(f"{base}/api/documents/uploads/{opened['upload']}?offset=0",
                            data=data, headers=auth) as r:
            assert r.status == 201, await r.text()
            document = str((await r.json())["document"])
        async with http.post(f"{base}/api/documents/{document}/reading", json=reading,
                             headers=auth) as r:
            assert r.status == 200, await r.text()
    return document


async def test_the_console_shows_what_was_read_and_the_mismatches(branch: Branch) -> None:
    hub = await branch.hub()
    booth = await branch.booth("booth-01", receive=False)
    await until(lambda: hub.peer_of("booth-01") is not None, "booth-01 paired")
    ktp = await upload(branch, "booth-01", "ktp", 1,
                       {"nik": SITI, "name": "SITI RAHAYU", "confidence": 91.5})
    kk = await upload(branch, "booth-01", "kk", 2, {
        "nik": BUDI, "name": "BUDI SANTOSO", "confidence": 88,
        "people": [{"nik": BUDI, "name": "BUDI SANTOSO", "confidence": 88}]})
    await booth.document(ktp, "ktp")
    await booth.document(kk, "kk")

    def shown() -> dict[str, Any]:
        return next(b for b in state(hub)["booths"] if b["booth"] == "booth-01")

    await until(lambda: len([d for d in shown()["documents"] if d["read"]]) == 2,
                "both readings on the console")
    read = {d["id"]: d["read"] for d in shown()["documents"]}
    assert (read[ktp]["nik"], read[ktp]["name"]) == (SITI, "SITI RAHAYU")
    assert read[kk]["people"] == [{"nik": BUDI, "name": "BUDI SANTOSO", "confidence": 88.0}]
    # Siti's NIK is not on the family card read: the officer is told.
    assert [f["kind"] for f in shown()["flags"]] == ["nik_not_on_kk"]
    assert SITI in shown()["flags"][0]["detail"]

    # The family card scanned again, now with her on it: the flag goes.
    kk2 = await upload(branch, "booth-01", "kk", 3, {"nik": BUDI, "name": "BUDI SANTOSO",
                       "people": [{"nik": BUDI, "name": "BUDI SANTOSO"},
                                  {"nik": SITI, "name": "SITI RAHAYU"}]})
    await booth.document(kk2, "kk")
    await until(lambda: shown()["flags"] == [], "the mismatch cleared")
