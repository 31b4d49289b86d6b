"""An authenticated fuzzer per role: every message type a role may send, each field in turn
given hostile values that the wire protocol lets through (empty, longest, unknown ids,
out-of-range numbers, many long health entries), over real sockets into a real branch
server whose queue holds a seated participant.

The class it closes (issue 15, defect 1): a refusal by a feature (the queue's validation,
a wrong state) that escaped as an exception and killed the device's connection with 1011.
Every message must be answered or acted upon, the connection must stay open, the server
must log no failure, and what the queue holds must stay consistent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from signaling import limits, policy
from signaling import protocol as p
from signaling.branchqueue import QUEUE_KEY
from signaling.protocol import Role
from tests.signaling.conftest import Branch, BranchFactory, Device, wait_until

LENIENT = {"bad_message_limit": 1_000_000, "rate_per_s": 100_000.0, "rate_burst": 100_000,
           "rate_drop_limit": 1_000_000}
ENVELOPE = {"id", "ref"}


def _hostile(spec: Any, known: dict[str, str]) -> Iterator[Any]:
    """Values the protocol accepts or refuses for one field, the nastiest first."""
    kind, meta = spec.kind, spec.meta
    if kind is str:
        longest = meta.get("max", limits.MAX_TEXT_CHARS)
        yield from ("", " ", "x", "x" * longest, "nobody-99", known.get(spec.name, "booth-01"),
                    "booth-01\n", "\u00ff" * 8)
        yield from meta.get("choices", ())
    elif kind is int:
        yield from (meta.get("min", 0), meta.get("max", 1 << 31), 0, -1, 1 << 40)
    elif kind is float:
        yield from (0.0, -1.0, 1e300)
    elif kind is bool:
        yield from (True, False)
    elif kind is list:
        yield from ([], ["x"], ["y" * 64] * meta.get("max_items", limits.MAX_LIST_ITEMS))
    elif kind is dict:
        yield from ({}, {"camera": "broken"},
                    {f"{'part' * 15}{i:04d}": "broken" for i in range(limits.MAX_HEALTH_ENTRIES)})


def _baseline(cls: type[p.Message], known: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in p._specs(cls):
        if spec.name in ENVELOPE:
            continue
        if spec.name in known:
            out[spec.name] = known[spec.name]
        elif spec.kind is str:
            choices = spec.meta.get("choices")
            out[spec.name] = choices[0] if choices else "x"
        elif spec.kind is int:
            out[spec.name] = spec.meta.get("min", 1)
        elif spec.kind is float:
            out[spec.name] = 1.0
        elif spec.kind is bool:
            out[spec.name] = False
        elif spec.kind is list:
            out[spec.name] = []
        elif spec.kind is dict:
            out[spec.name] = {}
    return out


def messages_for(role: Role, known: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every type ``role`` may send; for each, every field in turn set to each hostile value."""
    for type_ in sorted(policy.MAY_SEND[role]):
        cls = p.MESSAGE_TYPES[type_]
        base = _baseline(cls, known)
        yield {"type": type_, **base}
        for spec in p._specs(cls):
            if spec.name in ENVELOPE:
                continue
            for value in _hostile(spec, known):
                yield {"type": type_, **base, spec.name: value}


async def _seated(branch: Branch) -> tuple[dict[str, Device], dict[str, str]]:
    """A hub with a signed-in officer serving a booth whose participant has a ticket."""
    admin = branch.token("admin", "ops-1")
    async with branch.http.post(
        branch.url("/api/cases/officers"), json={"id": "officer-1", "pin": "2468"},
        headers={"Authorization": f"Bearer {admin}"},
    ) as reply:
        assert reply.status == 201, await reply.text()
    hub = await branch.connect("hub-01", "hub")
    assert (await hub.request({"type": "capacity", "slots": 6}))["type"] == "ok"
    signed = await hub.request({"type": "officer_sign_in", "officer": "officer-1", "pin": "2468"})
    assert signed["type"] == "ok", signed
    kiosk = await branch.connect("kiosk-01", "kiosk")
    display = await branch.connect("display-01", "display")
    booth = await branch.connect("booth-01", "booth")
    sent = await kiosk.send({"type": "ticket_request", "service": "jht", "priority": "none"})
    info = await kiosk.expect("ticket_info", ref=sent)
    await booth.expect("called", number=info["number"])
    assert (await booth.request({"type": "claim", "qr": info["qr"]}))["type"] == "ok"
    pair = await booth.expect("pair")
    known = {"booth": "booth-01", "hub": "hub-01", "peer": "hub-01", "pairing": pair["pairing"],
             "ticket": info["ticket"], "qr": info["qr"], "service": "jht",
             "officer": "officer-1", "to_hub": "hub-01"}
    return {"hub": hub, "kiosk": kiosk, "display": display, "booth": booth}, known


def _consistent(branch: Branch) -> None:
    """What the queue holds agrees with itself and with the pairing book."""
    queue = branch.app[QUEUE_KEY]
    type(queue.scheduler).from_dict(queue.scheduler.to_dict(), queue.rules)  # its own checks
    for booth in queue.scheduler.booths.values():
        pairing = branch.server.book.of_booth(booth.id)
        if booth.hub is not None and pairing is not None and pairing.ticket:
            assert pairing.hub == booth.hub, (booth, pairing)


@pytest.mark.parametrize("role", [Role.BOOTH, Role.HUB, Role.KIOSK, Role.DISPLAY])
async def test_every_message_a_role_may_send_is_answered_and_never_kills_the_connection(
    start_branch: BranchFactory, role: Role, caplog: pytest.LogCaptureFixture,
) -> None:
    branch = await start_branch(**LENIENT)
    devices, known = await _seated(branch)
    # Pairing messages that would move the session elsewhere are fuzzed against their
    # own pairing (the peer of a booth is the hub and back).
    if role is Role.HUB:
        known = {**known, "peer": "booth-01"}
    device = devices[role.value]
    caplog.set_level(logging.INFO, logger="signaling")
    tried = 0
    for msg in messages_for(role, known):
        if msg["type"] == "release" or (msg["type"] == "park" and role is Role.HUB):
            continue  # they end the session the rest is fuzzed in: tested below
        await device.send(msg)
        tried += 1
        # A status after it is answered only once the message before it was handled:
        # the worker takes one connection's messages in order.
        probe = await device.request({"type": "status", "state": "idle"})
        assert probe["type"] == "ok", (msg, probe)
        assert device.close_code is None and not device.ws.closed, (msg, device.close_reason)
    assert tried >= 10
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]
    _consistent(branch)
    for other in devices.values():
        assert not other.ws.closed


async def test_queue_validation_errors_come_back_as_error_replies(branch: Branch) -> None:
    """The three the outside test found: each an error reply, the connection kept."""
    devices, _known = await _seated(branch)
    booth, hub, kiosk = devices["booth"], devices["hub"], devices["kiosk"]
    reply = await kiosk.request({"type": "check_in", "code": ""})
    assert reply["type"] == "error" and reply["code"] == "invalid_event", reply
    reply = await hub.request({"type": "session_end", "booth": "booth-01", "outcome": ""})
    assert reply["type"] == "error" and reply["code"] == "invalid_event", reply
    for device in (booth, hub, kiosk):
        assert (await device.request({"type": "status", "state": "idle"}))["type"] == "ok"
    # A status whose broken parts have long names: stored, and the booth is out of calling.
    health = {f"{'scanner' * 8}{i:02d}": "broken" for i in range(limits.MAX_HEALTH_ENTRIES)}
    other = await branch.connect("booth-02", "booth")
    queue = branch.app[QUEUE_KEY]
    await wait_until(lambda: "booth-02" in queue.scheduler.booths, "booth-02 in the queue")
    reply = await other.request({"type": "status", "state": "idle", "health": health})
    assert reply["type"] == "ok", reply
    await wait_until(lambda: queue.scheduler.booths["booth-02"].faulty, "booth-02 faulty")
    assert queue.scheduler.booths["booth-02"].fault.startswith("device: scanner")
    assert not other.ws.closed and other.close_code is None
