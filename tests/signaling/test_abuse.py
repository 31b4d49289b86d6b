"""Abuse over a real socket: floods, huge frames, and random or mutated messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from signaling import limits
from signaling import protocol as p
from signaling.errors import ProtocolError
from tests.signaling.conftest import Branch, BranchFactory, Device, wait_until

GOLDEN = Path(__file__).parent / "golden"


async def test_flood_of_1000_messages_a_second_is_limited_then_closed_with_1008(
    branch: Branch,
) -> None:
    booth, hub, pairing = await branch.pair()
    bystander = await branch.connect("booth-02", "booth")
    status = json.dumps({"v": 1, "type": "status", "id": "f", "state": "idle"})
    sent = 0
    with contextlib.suppress(ConnectionError, aiohttp.ClientConnectionResetError):
        for _second in range(5):  # bounded: at most 5000 messages
            for _ in range(1000):
                await booth.ws.send_str(status)
                sent += 1
            if booth.ws.closed or booth.close_code is not None:
                break
            await asyncio.sleep(1.0)
    replies: list[dict[str, Any]] = []
    while True:
        try:
            replies.append(await booth.recv())
        except AssertionError:
            break
    limited = [r for r in replies if r["type"] == "error"]
    assert limited and {r["code"] for r in limited} == {"rate_limited"}
    assert "more than 50 messages a second; messages are being dropped" in limited[0]["detail"]
    # Warned once per spell of dropping, not once per dropped message: the connection was
    # closed after RATE_DROP_LIMIT drops and got far fewer warnings than that. (The reader
    # warns as it drops; answers come from the worker, so on the wire their order varies.)
    warnings = sum(r["type"] == "error" for r in replies)
    assert warnings < limits.RATE_DROP_LIMIT // 2
    assert booth.close_code == limits.CLOSE_POLICY
    assert booth.close_reason == "rate limit exceeded"
    # Messages beyond the burst were dropped, not answered.
    assert sum(r["type"] == "ok" for r in replies) < sent
    # Others are unaffected: the hub and a bystander still get answers.
    assert (await bystander.request({"type": "status", "state": "idle"}))["type"] == "ok"
    assert (await hub.request({"type": "capacity", "slots": 2}))["type"] == "ok"
    await wait_until(lambda: "booth-01" not in branch.server.connections, "flooder dropped")
    metrics = branch.server.metrics.render().decode()
    assert 'bilik_disconnects_total{reason="rate_limit"} 1.0' in metrics
    assert pairing in {r[0] for r in branch.snapshot()["pairings"]}


async def test_frame_over_the_limit_closes_with_1009(start_branch: BranchFactory) -> None:
    branch = await start_branch(max_frame_bytes=8192)
    booth = await branch.connect("booth-01", "booth")
    other = await branch.connect("hub-01", "hub")
    await booth.send({"type": "status", "state": "x" * 9000})
    assert await booth.closed() == limits.CLOSE_TOO_BIG
    assert (await other.request({"type": "capacity", "slots": 1}))["type"] == "ok"


async def test_a_10_mb_frame_is_refused_and_the_server_carries_on(branch: Branch) -> None:
    booth = await branch.connect("booth-01", "booth")
    other = await branch.connect("hub-01", "hub")
    huge = json.dumps({"v": 1, "type": "status", "id": "big", "state": "x" * (10 * 2**20)})
    with contextlib.suppress(ConnectionError, aiohttp.ClientConnectionResetError):
        await booth.ws.send_str(huge)
    assert await booth.closed() == limits.CLOSE_TOO_BIG
    assert (await other.request({"type": "capacity", "slots": 1}))["type"] == "ok"
    async with branch.http.get(branch.url("/healthz")) as reply:
        assert (await reply.json())["devices"] == {"hub": 1}
    [device] = [d for d in branch.snapshot()["devices"] if d[0] == "booth-01"]
    assert device[5] == ""  # the huge status was never stored


# --- random and mutated messages never crash the server nor change stored state ---------

_json_scalar = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
# Messages a booth may send: mutating these reaches the deepest validation.
_SEEDS = [
    json.loads((GOLDEN / f"{t}.json").read_text())
    for t in ("status", "service_request", "release", "offer", "answer", "ice", "capacity",
              "hello", "pair")
]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    msg: dict[str, Any] = dict(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["drop", "add", "replace", "retype"]))
        keys = sorted(msg)
        if how == "drop" and keys:
            msg.pop(draw(st.sampled_from(keys)))
        elif how == "add":
            msg[draw(st.text(max_size=10))] = draw(_json)
        elif how == "replace" and keys:
            msg[draw(st.sampled_from(keys))] = draw(_json)
        elif how == "retype":
            msg["type"] = draw(st.sampled_from([*p.MESSAGE_TYPES, "", "OFFER", "x" * 100]))
    raw = json.dumps(msg)
    if draw(st.booleans()):
        # JSON escapes that decode to text no UTF-8 frame can carry, or to control bytes.
        escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\ud83d"]))
        return raw.replace('"idle"', f'"{escape}"').replace('"0"', f'"{escape}"')
    if draw(st.booleans()):
        return raw
    # Byte-level damage: cut, or overwrite a character.
    cut = draw(st.integers(0, len(raw)))
    if draw(st.booleans()):
        return raw[:cut]
    return raw[:cut] + draw(st.characters(codec="utf-8")) + raw[cut + 1:]


_garbage = st.one_of(
    st.text(max_size=200),
    _json.map(json.dumps),
    _mutated(),
)


def _parses(raw: str) -> bool:
    try:
        p.parse(raw)
    except ProtocolError:
        return False
    return True


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=_garbage)
async def test_random_and_mutated_messages_get_an_error_and_change_nothing(
    fuzz_branch: tuple[Branch, Device], raw: str
) -> None:
    assume(not _parses(raw))
    branch, booth = fuzz_branch
    before = branch.snapshot()
    await booth.send(raw)
    reply = await booth.recv()
    assert reply["type"] == "error", reply
    assert reply["code"] in {"bad_message", "unknown_type", "unsupported_version"}
    assert reply["detail"] and "Traceback" not in reply["detail"]
    assert branch.snapshot() == before
    assert not booth.ws.closed
    assert branch.server.connections["booth-01"].ws.closed is False


@pytest.fixture
async def fuzz_branch(start_branch: BranchFactory) -> tuple[Branch, Device]:
    """One server and one paired booth for all examples; limits raised so that it survives."""
    branch = await start_branch(bad_message_limit=1_000_000, rate_per_s=100_000.0,
                                rate_burst=100_000)
    booth, _hub, _pairing = await branch.pair()
    return branch, booth
