"""Store and forward, with real parts: branch servers deciding claims, ``bilik headoffice``
processes on a real PostgreSQL, the real upload.

- The link is cut (no head office) while claims are decided, restored, cut again, restored:
  every bundle arrives exactly once, and the backlog on /metrics rises and falls.
- A head-office process killed in the middle of an upload: the branch goes on at another
  process on the same database from where the first one stopped.
- A bundle altered on the branch's disk is refused by the head office, and the branch
  records, counts and keeps it.
- Local copies go only after the acknowledgement and the retention time.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from PIL import Image

from bilik.evidence.bundle import verify
from headoffice.scratchdb import free_port
from signaling import outboxrecords as ev
from signaling.outbox import OUTBOX_KEY
from signaling.store import DB_FILE
from tests.headoffice.branches import Desk, branch_key_pem, start_branch
from tests.headoffice.conftest import register_pem, rows
from tests.signaling.conftest import Branch, wait_until
from tests.signaling.test_documents import open_upload, put

pytestmark = pytest.mark.slow

DELIVERY_S = 60.0  # generous: the machine is shared; only a lost bundle makes this wait
FAST_RETRY = {"outbox_retry_min_s": 0.05, "outbox_retry_max_s": 0.3}


def outbox_rows(branch: Branch) -> list[tuple[Any, ...]]:
    with sqlite3.connect(branch.config.data_dir / DB_FILE) as db:
        return db.execute("SELECT reference, state, resumed_from, last_error FROM "
                          "evidence_outbox ORDER BY decided").fetchall()


async def metric(branch: Branch, name: str) -> float:
    async with branch.http.get(branch.url("/metrics")) as r:
        for line in (await r.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


async def stored(dsn: str) -> list[str]:
    return [r["reference"] for r in await rows(dsn, "SELECT reference FROM bundles "
                                                    "ORDER BY reference")]


async def test_a_cut_link_delays_bundles_and_loses_none(
        dsn: str, office_processes: Any, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "branch"
    await register_pem(dsn, "kc-01", branch_key_pem(data_dir))
    branch = await start_branch(http, data_dir, headoffice_url=f"http://127.0.0.1:{port}",
                                **FAST_RETRY)
    try:
        desk = await Desk(branch).open()
        first = [await desk.decide(), await desk.decide()]  # the head office is not there
        await wait_until(lambda: metric_at_least(branch, "bilik_outbox_send_failures", 2),
                         "the outbox to try and fail")
        assert await metric(branch, "bilik_outbox_backlog") == 2
        office = office_processes(port=port)
        await wait_until(lambda: delivered(dsn, 2), "the backlog to arrive", DELIVERY_S)
        await wait_until(lambda: metric_is(branch, "bilik_outbox_backlog", 0), "backlog 0")
        office.stop()  # cut again
        second = [await desk.decide("incomplete"), await desk.decide("referred")]
        await wait_until(lambda: metric_is(branch, "bilik_outbox_backlog", 2), "backlog 2")
        assert await metric(branch, "bilik_outbox_oldest_age_seconds") >= 0
        office_processes(port=port)  # restored
        await wait_until(lambda: delivered(dsn, 4), "the second backlog", DELIVERY_S)
        await wait_until(lambda: all(r[1] == "acked" for r in outbox_rows(branch)),
                         "every bundle acknowledged")
        assert await stored(dsn) == sorted(first + second)  # each exactly once
        # The branch keeps its copies until the retention time has passed.
        assert all((data_dir / "evidence" / f"{ref}.zip").exists() for ref in first + second)
    finally:
        await branch.stop()


async def test_a_head_office_killed_mid_upload_the_branch_resumes_at_another(
        dsn: str, office_processes: Any, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    data_dir = tmp_path / "branch"
    await register_pem(dsn, "kc-01", branch_key_pem(data_dir))
    doomed = office_processes(crash_at="headoffice.chunk_committed")
    spare = office_processes()
    branch = await start_branch(http, data_dir, headoffice_url=f"{doomed.url},{spare.url}",
                                **FAST_RETRY)
    try:
        desk = await Desk(branch).open()
        assert desk.hub is not None
        # A large scan, so that the bundle takes several chunks.
        data = noise_jpeg()
        booth = await branch.connect("booth-01", "booth")
        assert (await booth.request({"type": "service_request"}))["type"] == "ok"
        pairing = (await booth.expect("pair"))["pairing"]
        await desk.hub.expect("pair", booth="booth-01")
        desk.booths = 1
        status, opened = await open_upload(branch, data)
        assert status == 201, opened
        for offset in range(0, len(data), 1024 * 1024):
            status, _ = await put(branch, opened["upload"], offset,
                                  data[offset:offset + 1024 * 1024])
        assert status == 201
        sent = await desk.hub.send({"type": "decision", "booth": "booth-01",
                                    "ticket": f"pairing:{pairing}", "outcome": "referred"})
        reference = (await desk.hub.expect("verdict", ref=sent))["reference"]
        assert await asyncio.to_thread(doomed.wait_dead) == -9  # killed after one chunk
        await wait_until(lambda: delivered(dsn, 1), "the bundle at the other process",
                         DELIVERY_S)
        ((ref, state, resumed_from, _err),) = outbox_rows(branch)
        assert (ref, state) == (reference, "acked")
        assert resumed_from > 0  # it went on from the first chunk, not from the start
        (row,) = await rows(dsn, "SELECT sha256, size FROM bundles")
        blob = tmp_path / "blobs" / "bundles" / "kc-01" / row["sha256"][:2] / (
            row["sha256"] + ".zip")
        assert verify(blob).reference == reference and row["size"] > 2 * 256 * 1024
    finally:
        await branch.stop()


@pytest.mark.parametrize("where", ["on-disk", "before-the-outbox"])
async def test_an_altered_bundle_is_refused_and_the_branch_reports_it(
        dsn: str, office_processes: Any, http: aiohttp.ClientSession, tmp_path: Path,
        where: str) -> None:
    """Altered on the branch's disk: the branch sees its copy changed and does not send it.
    Altered with its outbox row to match (bytes and hash), as a forger would: the head office
    refuses it, names the file, and the branch records the refusal."""
    port = free_port()
    data_dir = tmp_path / "branch"
    await register_pem(dsn, "kc-01", branch_key_pem(data_dir))
    branch = await start_branch(http, data_dir, headoffice_url=f"http://127.0.0.1:{port}",
                                **FAST_RETRY)
    try:
        desk = await Desk(branch).open()
        reference = await desk.decide()
        await wait_until(lambda: any(r[1] == "built" for r in outbox_rows(branch)), "built")
        path = data_dir / "evidence" / f"{reference}.zip"
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        # The decision changed on the branch's disk after it was signed.
        members["decision.json"] = members["decision.json"].replace(b'"referred"',
                                                                    b'"rejected_documents"')
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        if where == "before-the-outbox":
            with sqlite3.connect(data_dir / DB_FILE) as db:
                db.execute("UPDATE evidence_outbox SET sha256=?, size=?", (
                    hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size))
        office_processes(port=port)
        await wait_until(lambda: any(r[1] == "refused" for r in outbox_rows(branch)),
                         "the refusal", DELIVERY_S)
        ((_ref, _state, _resumed, error),) = outbox_rows(branch)
        assert await metric(branch, "bilik_outbox_refused_total") == 1
        assert await stored(dsn) == []
        if where == "on-disk":
            assert error.startswith(f"the local copy {reference}.zip changed after it was built")
            assert await rows(dsn, "SELECT reference FROM refusals") == []
        else:
            assert "decision.json: content differs from the manifest" in error
            (refusal,) = await rows(dsn, "SELECT reference FROM refusals")
            assert refusal["reference"] == reference
        with sqlite3.connect(data_dir / DB_FILE) as db:
            actions = [r[0] for r in db.execute("SELECT action FROM audit WHERE subject=?",
                                                (reference,))]
        assert "evidence_refused" in actions
        assert path.exists()  # kept for whoever looks into it
    finally:
        await branch.stop()


async def test_local_copies_go_only_after_the_ack_and_the_retention_time(
        dsn: str, office_processes: Any, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    data_dir = tmp_path / "branch"
    await register_pem(dsn, "kc-01", branch_key_pem(data_dir))
    office = office_processes()
    branch = await start_branch(http, data_dir, headoffice_url=office.url,
                                evidence_retention_s=0.0, **FAST_RETRY)
    try:
        desk = await Desk(branch).open()
        reference = await desk.decide()
        outbox = branch.app[OUTBOX_KEY]
        await wait_until(lambda: any(r[1] in ("acked", "deleted") for r in outbox_rows(branch)),
                         "the ack", DELIVERY_S)
        outbox.wake()
        await wait_until(lambda: outbox_rows(branch)[0][1] == ev.OutboxState.DELETED.value,
                         "the local copy deleted")
        assert not (data_dir / "evidence" / f"{reference}.zip").exists()
        assert await stored(dsn) == [reference]
    finally:
        await branch.stop()


def noise_jpeg() -> bytes:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


async def delivered(dsn: str, count: int) -> bool:
    return len(await stored(dsn)) >= count


async def metric_is(branch: Branch, name: str, value: float) -> bool:
    return await metric(branch, name) == value


async def metric_at_least(branch: Branch, name: str, value: float) -> bool:
    return await metric(branch, name + "_total") >= value
