"""The branch and its head office, beyond bundles: the branch pulls its day's bookings into its
queue, and a head office that hangs never holds up a participant's verdict."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bilik.cli import main
from signaling.bookingpull import local_day
from signaling.branchqueue import QUEUE_KEY
from signaling.queue.rules import QueueRules
from tests.headoffice.branches import Desk, branch_key_pem, start_branch
from tests.headoffice.conftest import register_pem
from tests.signaling.conftest import wait_until

pytestmark = pytest.mark.slow


async def test_the_branch_pulls_its_days_bookings_into_its_queue(
        start_headoffice: Any, dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    office = await start_headoffice()
    data_dir = tmp_path / "branch"
    await register_pem(dsn, "kc-01", branch_key_pem(data_dir))
    today = local_day(time.time(), QueueRules().utc_offset_min)
    (tmp_path / "bookings.json").write_text(json.dumps([
        {"code": "BK-1001", "service": "jht", "slot": f"{today}T15:00:00", "branch": "kc-01",
         "name": "SITI RAHAYU"},
        {"code": "BK-1002", "service": "jht", "slot": f"{today}T15:30:00", "branch": "kc-02"},
    ]))
    assert await asyncio.to_thread(main, ["headoffice", "bookings", "import",
                                          str(tmp_path / "bookings.json"), "--dsn", dsn]) == 0
    branch = await start_branch(http, data_dir, headoffice_url=office.url, bookings_pull_s=0.2)
    try:
        queue = branch.app[QUEUE_KEY]
        await wait_until(lambda: "BK-1001" in queue.scheduler.appointments,
                         "the pulled booking in the queue")
        assert queue.scheduler.appointments["BK-1001"].name == "SITI RAHAYU"
        assert "BK-1002" not in queue.scheduler.appointments  # another branch's
    finally:
        await branch.stop()


async def test_a_hanging_head_office_never_holds_up_a_verdict(
        dsn: str, http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """The head office accepts connections and never answers; decisions are answered."""
    accepted: list[asyncio.StreamWriter] = []

    async def hang(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    silent = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    data_dir = tmp_path / "branch"
    branch = await start_branch(http, data_dir, headoffice_url=f"http://127.0.0.1:{port}")
    try:
        desk = await Desk(branch).open()
        await desk.decide()
        await wait_until(lambda: accepted, "the outbox to be stuck on the silent head office")
        references = [await desk.decide(), await desk.decide("incomplete")]
        assert all(r.startswith("KLM-") for r in references)
    finally:
        await branch.stop()
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()
