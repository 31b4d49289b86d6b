"""Shared test fixtures, and the leak checks that fail any test leaving something running.

Every test is checked for:
- asyncio tasks still pending when an async test ends (peer connections, servers and
  clients all own tasks, so an unclosed one shows up here);
- threads started by the test and still alive;
- listening sockets opened by the test and still open;
- child processes started by the test and still running.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator

import psutil
import pytest

from bilik.webrtc import ice

# Every call of the test run stays on loopback: this process and every process it starts
# (booth and hub processes, the bench's helpers) take their ICE addresses from here.
os.environ[ice.ENV] = "127.0.0.1"
ice.restrict([])
# The tests of other features run the server and the agents over plain ws:// with the
# development switch (docs/security.md); the TLS tests (tests/signaling/test_tls.py,
# tests/journey with tls) give their settings explicitly.
for _section in ("SERVER", "BOOTH", "HUB", "KIOSK", "DISPLAY"):
    os.environ.setdefault(f"BILIK_{_section}_INSECURE_PLAINTEXT", "1")
LEAK_GRACE_S = 2.0  # time allowed for threads and children to wind down after a test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fn = getattr(item, "function", None)
        if fn is not None and inspect.iscoroutinefunction(fn):
            # First in line, so it is torn down last: after the test's own fixtures
            # have closed their servers and peers.
            fixturenames = getattr(item, "fixturenames", None)
            if fixturenames is not None and "_no_task_leaks" not in fixturenames:
                fixturenames.insert(0, "_no_task_leaks")


@pytest.fixture
async def _no_task_leaks() -> AsyncIterator[None]:
    me = asyncio.current_task()
    before = {t for t in asyncio.all_tasks() if t is not me}
    yield
    # pytest-asyncio runs a fixture's teardown in a task of its own: that one is not a leak.
    ours = {me, asyncio.current_task()}
    deadline = time.monotonic() + LEAK_GRACE_S
    while True:
        leaked = [
            t for t in asyncio.all_tasks() if t not in ours and t not in before and not t.done()
        ]
        if not leaked or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    for task in leaked:
        task.cancel()
    if leaked:
        names = ", ".join(sorted(f"{t.get_name()}<{t.get_coro()!r}>" for t in leaked)[:10])
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")


def _listening() -> set[tuple[str, int]]:
    try:
        conns = psutil.Process().net_connections(kind="inet")
    except psutil.Error:  # pragma: no cover - restricted /proc
        return set()
    return {(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}


@pytest.fixture(autouse=True)
def _no_resource_leaks() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    listening_before = _listening()
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    while True:
        threads = [
            t
            for t in threading.enumerate()
            if t not in threads_before and t.is_alive() and not _is_pool_worker(t)
        ]
        listening = _listening() - listening_before
        children = [
            p
            for p in me.children(recursive=True)
            if p.pid not in children_before and p.is_running() and p.status() != "zombie"
        ]
        if not (threads or listening or children) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for child in children:
        child.kill()
    problems = []
    if threads:
        problems.append("threads: " + ", ".join(t.name for t in threads))
    if listening:
        problems.append("listening sockets: " + ", ".join(f"{h}:{p}" for h, p in listening))
    if children:
        problems.append("child processes: " + ", ".join(str(p.pid) for p in children))
    if problems:
        pytest.fail("test leaked " + "; ".join(problems))


def _is_pool_worker(thread: threading.Thread) -> bool:
    # asyncio's default executor threads belong to a loop that pytest-asyncio closes;
    # they exit on their own once idle and are not owned by the test.
    return thread.name.startswith("asyncio_")
