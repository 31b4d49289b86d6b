"""Memory under connection churn (issue 15, defect 11): not a leak, and given back.

Rounds of connections open, say hello, ask once and leave. After every round the server
holds the same Python objects as after the first (tracemalloc, counting only what the
server's own code and aiohttp's server side allocated), no extra tasks, and no trace of
the connections in its tables. The allocator's free pages go back to the system when a
spell of connections ends (:class:`signaling.heap.HeapTrimmer`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import tracemalloc
from pathlib import Path

import pytest

import signaling
from signaling.heap import HeapTrimmer
from tests.signaling.conftest import Branch, BranchFactory, wait_until

ROUNDS = 8
PER_ROUND = 80
SERVER_CODE = (str(Path(signaling.__file__).parent), "aiohttp/web_", "aiohttp/_websocket")


async def _round(branch: Branch, round_no: int) -> None:
    async def one(i: int) -> None:
        role = ("booth", "hub", "kiosk", "display")[i % 4]
        device = f"{role}-{i:03d}"  # the same identities every round
        async with branch.http.ws_connect(branch.ws_url) as ws:
            await ws.send_json({"v": 1, "type": "hello", "id": "h", "token":
                                branch.token(role, device)})
            assert json.loads((await ws.receive()).data)["type"] == "welcome"
            await ws.send_json({"v": 1, "type": "status", "id": f"s{round_no}", "state": "idle"})
            while True:
                reply = json.loads((await ws.receive()).data)
                if reply.get("ref") == f"s{round_no}":
                    assert reply["type"] == "ok"
                    break

    await asyncio.gather(*(one(i) for i in range(PER_ROUND)))
    await wait_until(lambda: not branch.server.connections, "every device gone")
    # Each connection's worker, departure and resume-window tasks all end.
    await wait_until(lambda: not branch.server.tasks, "the connections' tasks to end")
    await branch.settled()


def _server_bytes(snapshot: tracemalloc.Snapshot) -> int:
    return sum(stat.size for stat in snapshot.statistics("traceback")
               if any(part in frame.filename for frame in stat.traceback
                      for part in SERVER_CODE))


async def test_connection_churn_leaves_no_objects_tasks_or_records_behind(
    start_branch: BranchFactory, caplog: pytest.LogCaptureFixture,
) -> None:
    # The test harness keeps every log record it captures: not the server's memory.
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="signaling")
    branch = await start_branch(resume_window_s=0.0)
    await _round(branch, 0)  # caches, first-time booths in the queue, prepared statements
    tracemalloc.start(12)
    try:
        sizes = []
        for n in range(1, ROUNDS):
            await _round(branch, n)
            gc.collect()
            sizes.append(_server_bytes(tracemalloc.take_snapshot()))
    finally:
        tracemalloc.stop()
    # What stays from round to round varies by a few tens of KB (caches, free lists); a
    # leak of one small object per connection grows by PER_ROUND x its size every round.
    growth = min(sizes[-2:]) - max(sizes[:2])
    assert growth < 40 * 1024, f"server-side memory grew {growth} B: {sizes}"
    assert not branch.server.connections and not branch.server.book.waiting
    assert branch.server.health()["devices"] == {}


def test_freed_memory_is_given_back_when_a_spell_of_connections_ends() -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    trimmer = HeapTrimmer(after_drop=100, trim=trim)
    for n in range(0, 501):
        trimmer.connections(n)
    for n in range(500, 300, -1):
        trimmer.connections(n)
    assert calls == []  # still more than half the peak open
    for n in range(300, 240, -1):
        trimmer.connections(n)
    assert calls == [0] and trimmer.peak == 250
    for n in range(250, 200, -1):
        trimmer.connections(n)
    assert calls == [0]  # not again until another spell ends


async def test_a_connection_holds_at_most_a_megabyte_of_waiting_messages(
    start_branch: BranchFactory,
) -> None:
    """While its worker waits (here for the queue's lock), a device's large messages wait
    in the socket, not in the server's memory: the inbox stops at MAX_INBOX_BYTES."""
    from signaling import limits
    from signaling.branchqueue import QUEUE_KEY

    branch = await start_branch(rate_per_s=10_000.0, rate_burst=10_000)
    booth = await branch.connect("booth-01", "booth")
    assert (await booth.request({"type": "status", "state": "idle"}))["type"] == "ok"
    queue = branch.app[QUEUE_KEY]
    conn = branch.server.connections["booth-01"]
    big = {"type": "status", "state": "idle", "health": {
        f"part{i:02d}": "x" * 500 for i in range(limits.MAX_HEALTH_ENTRIES)}}  # ~17 KB each
    async with queue._lock:  # the worker's next queue event waits here
        await booth.send({"type": "booth_ready"})
        for _ in range(200):  # ~3.4 MB in all
            await booth.send(big)
        # The reader stops taking frames once the inbox holds a megabyte: it waits for
        # the worker to drain it.
        await wait_until(lambda: conn.inbox_bytes > limits.MAX_INBOX_BYTES
                         and not conn.drained.is_set(), "the reader to wait for room")
        assert conn.inbox_bytes <= limits.MAX_INBOX_BYTES + 20_000
    answered = 0
    while answered < 201:
        reply = await booth.recv()
        answered += reply.get("type") in ("ok", "error")
    assert conn.inbox_bytes == 0 and not booth.ws.closed
