"""The device socket of a real branch server: hello, bad input, roles, replacement."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from signaling import limits
from tests.signaling.conftest import Branch, BranchFactory, wait_until

GOLDEN = Path(__file__).parent / "golden"
INVALID = [json.loads(line) for line in (GOLDEN / "invalid.jsonl").read_text().splitlines()]


# --- hello ------------------------------------------------------------------------------


async def test_hello_with_a_valid_token_is_welcomed_with_the_session_terms(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(heartbeat_s=2.0, resume_window_s=7.0)
    booth = await branch.connect("booth-01", "booth")
    w = booth.welcome
    assert (w["device_id"], w["role"], w["resumed"]) == ("booth-01", "booth", False)
    assert (w["heartbeat_s"], w["resume_window_s"]) == (2.0, 7.0)
    assert w["ref"] == "booth-01-1"  # answers the hello
    assert w["session"]
    [device] = (await branch.server.db.call(branch.server.db.sync.devices))
    assert (device["id"], device["role"], device["online"]) == ("booth-01", "booth", True)


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("forged", "signature does not match"),
        ("expired", "expired"),
        ("garbled", "token must have the form"),
        ("future", "issued in the future"),
    ],
)
async def test_bad_token_is_refused_with_the_reason_and_close_4001(
    branch: Branch, kind: str, detail: str
) -> None:
    from signaling import tokens

    if kind == "forged":
        token = tokens.issue(b"\x00" * 32, "booth-01", "booth", now=branch.server.clock(),
                             ttl_s=60)
    elif kind == "expired":
        token = branch.token("booth", "booth-01", now=branch.server.clock() - 7200, ttl_s=3600)
    elif kind == "future":
        token = branch.token("booth", "booth-01", now=branch.server.clock() + 3600)
    else:
        token = "not-a-token"
    device = await branch.raw()
    await device.send({"type": "hello", "token": token})
    reply = await device.recv()
    assert reply["type"] == "error" and reply["code"] == "unauthorized"
    assert detail in reply["detail"]
    assert await device.closed() == limits.CLOSE_UNAUTHORIZED
    assert detail in device.close_reason
    assert branch.server.connections == {}


async def test_admin_token_may_not_open_a_device_socket(branch: Branch) -> None:
    device = await branch.raw()
    await device.send({"type": "hello", "token": branch.token("admin", "ops-1")})
    reply = await device.recv()
    assert reply["code"] == "forbidden"
    assert reply["detail"] == "role admin may not connect as a device"
    assert await device.closed() == limits.CLOSE_UNAUTHORIZED


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ('{"v":1,"type":"status","id":"m1","state":"idle"}', "unauthorized"),
        ("garbage", "bad_message"),
        ('{"v":9,"type":"hello","id":"m1","token":"x"}', "unsupported_version"),
    ],
    ids=["status-before-hello", "garbage", "wrong-version"],
)
async def test_first_message_must_be_a_valid_hello(branch: Branch, first: str, code: str) -> None:
    device = await branch.raw()
    await device.send(first)
    reply = await device.recv()
    assert reply["type"] == "error" and reply["code"] == code
    assert await device.closed() == limits.CLOSE_UNAUTHORIZED


async def test_silent_connection_is_closed_after_the_hello_timeout(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(hello_timeout_s=0.3)
    device = await branch.raw()
    assert await device.closed() == limits.CLOSE_HELLO_TIMEOUT


# --- bad messages after hello -----------------------------------------------------------


async def test_every_kind_of_bad_message_gets_a_precise_error_and_keeps_the_connection(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(bad_message_limit=1000)
    booth = await branch.connect("booth-01", "booth")
    before = branch.snapshot()
    for case in INVALID:
        await booth.send(case["input"])
        reply = await booth.recv()
        assert reply["type"] == "error", case["case"]
        assert (reply["code"], reply["detail"]) == (case["code"], case["detail"]), case["case"]
        assert reply.get("ref") == case["ref"], case["case"]
        assert "Traceback" not in reply["detail"]
    # The connection is intact and nothing was stored.
    assert (await booth.request({"type": "status", "state": "idle"}))["type"] == "ok"
    after = branch.snapshot()
    assert after["pairings"] == before["pairings"] and after["audit"] == before["audit"]


async def test_binary_frame_is_a_bad_message_not_a_disconnect(branch: Branch) -> None:
    booth = await branch.connect("booth-01", "booth")
    await booth.ws.send_bytes(b"\x00\x01binary")
    reply = await booth.recv()
    assert (reply["code"], reply["detail"]) == (
        "bad_message", "binary frames are not part of the protocol")
    assert (await booth.request({"type": "status", "state": "idle"}))["type"] == "ok"


async def test_repeated_bad_messages_close_the_connection_with_1008_and_a_reason(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(bad_message_limit=5)
    booth = await branch.connect("booth-01", "booth")
    hub = await branch.connect("hub-01", "hub")
    for i in range(5):
        await booth.send(f"junk {i}")
    replies = [await booth.recv() for _ in range(5)]
    assert all(r["code"] == "bad_message" for r in replies)
    assert await booth.closed() == limits.CLOSE_POLICY
    assert booth.close_reason == "too many malformed messages"
    # Others are not affected.
    assert (await hub.request({"type": "capacity", "slots": 2}))["type"] == "ok"
    await wait_until(lambda: "booth-01" not in branch.server.connections, "booth dropped")


# --- what each role may send ------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "msg"),
    [
        ("booth", {"type": "capacity", "slots": 6}),
        ("booth", {"type": "pair", "pairing": "p-1", "booth": "booth-01", "hub": "hub-01"}),
        ("booth", {"type": "welcome", "device_id": "booth-01", "role": "hub", "session": "s"}),
        ("booth", {"type": "hello", "token": "x"}),
        ("hub", {"type": "service_request"}),
        ("hub", {"type": "ok"}),
        ("display", {"type": "service_request"}),
        ("kiosk", {"type": "ice", "peer": "hub-01", "pairing": "p-1"}),
    ],
    ids=lambda v: v if isinstance(v, str) else v["type"],
)
async def test_a_role_cannot_send_another_roles_messages(
    branch: Branch, role: str, msg: dict[str, Any]
) -> None:
    device = await branch.connect(f"{role}-01", role)
    reply = await device.request(msg)
    assert reply["code"] == "forbidden"
    assert reply["detail"] == f"a {role} may not send {msg['type']!r}"
    # Still connected and allowed what it may do.
    assert (await device.request({"type": "status", "state": "idle"}))["type"] == "ok"
    assert branch.snapshot()["pairings"] == []


async def test_status_is_stored_for_the_device(branch: Branch) -> None:
    booth = await branch.connect("booth-01", "booth")
    reply = await booth.request({"type": "status", "state": "in_session",
                                 "health": {"camera": "ok", "printer": "paper_out"}})
    assert reply["type"] == "ok"
    [device] = await branch.server.db.call(branch.server.db.sync.devices)
    assert device["state"] == "in_session"
    assert device["health"] == {"camera": "ok", "printer": "paper_out"}


# --- one connection per identity --------------------------------------------------------


async def test_second_connection_of_a_device_replaces_the_first_with_close_4002(
    branch: Branch,
) -> None:
    first = await branch.connect("booth-01", "booth")
    second = await branch.connect("booth-01", "booth")
    assert await first.closed() == limits.CLOSE_REPLACED
    assert first.close_reason == "replaced by a newer connection of the same device"
    assert second.welcome["resumed"] is True
    assert (await second.request({"type": "status", "state": "idle"}))["type"] == "ok"
    assert branch.server.connections["booth-01"].ws is not None
    assert branch.server.health()["devices"] == {"booth": 1}


async def test_shutdown_closes_device_sockets_with_going_away(start_branch: BranchFactory) -> None:
    branch = await start_branch()
    booth = await branch.connect("booth-01", "booth")
    closing = asyncio.ensure_future(branch.test_server.close())
    assert await booth.closed() == limits.CLOSE_GOING_AWAY
    assert booth.close_reason == "server shutting down"
    await closing


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d"])
async def test_text_that_utf8_cannot_carry_is_refused_not_stored_or_relayed(
    branch: Branch, escape: str
) -> None:
    # JSON may escape a lone surrogate; storing it in SQLite or relaying it in a UTF-8
    # frame would fail deep inside the server, so the codec must refuse it.
    booth, hub, pairing = await branch.pair()
    status = '{"v":1,"type":"status","id":"s1","state":"ESC"}'.replace("ESC", escape)
    ice = ('{"v":1,"type":"ice","id":"i1","peer":"hub-01","pairing":"PID","candidate":"ESC"}'
           .replace("PID", pairing).replace("ESC", escape))
    for raw, ref in ((status, "s1"), (ice, "i1")):
        await booth.send(raw)
        reply = await booth.recv()
        assert (reply["code"], reply["ref"]) == ("bad_message", ref)
        assert "lone surrogate" in reply["detail"]
    assert (await booth.request({"type": "status", "state": "idle"}))["type"] == "ok"
    assert (await hub.request({"type": "capacity", "slots": 1}))["type"] == "ok"


# --- a slow message does not cost the connection ---------------------------------------


async def test_a_message_stuck_behind_the_disk_or_queue_keeps_its_device_connected(
    start_branch: BranchFactory,
) -> None:
    """While one message waits (a long queue backlog, a slow disk), the socket is still read:
    the device's pings are answered and later messages are processed after it, in order."""
    branch = await start_branch(heartbeat_s=30.0)  # only the device pings here
    release = asyncio.Event()
    handled: list[str] = []

    async def slow_status(conn: Any, msg: Any) -> None:
        handled.append(msg.id)
        if len(handled) == 1:
            await release.wait()
        await conn.ws.send_str(json.dumps({"v": 1, "type": "ok", "id": f"s-{msg.id}",
                                           "ref": msg.id}))

    branch.server.handlers["status"] = slow_status
    # aiohttp's client pings every 0.3 s and closes if no pong comes within half of that.
    ws = await branch.http.ws_connect(branch.ws_url, heartbeat=0.3)
    try:
        await ws.send_json({"v": 1, "type": "hello", "id": "h", "token":
                            branch.token("booth", "booth-01")})
        assert (await ws.receive_json(timeout=10))["type"] == "welcome"
        for n in (1, 2):
            await ws.send_json({"v": 1, "type": "status", "id": f"st{n}", "state": "idle"})
        await wait_until(lambda: handled == ["st1"], "the first status to be stuck")
        # Many heartbeat periods pass with the first message stuck: nobody gives up.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3.0):
                await ws.receive()
        assert not ws.closed and "booth-01" in branch.server.connections
        release.set()
        replies = [(await ws.receive_json(timeout=10))["ref"] for _ in range(2)]
        assert replies == ["st1", "st2"] and handled == ["st1", "st2"]
    finally:
        await ws.close()
