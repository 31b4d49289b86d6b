"""ICE on the branch network only: the policy's parsing, and a real call that stays on it."""

from __future__ import annotations

import asyncio

import pytest

from bilik.webrtc import ice
from bilik.webrtc.connection import close_quietly, create_peer_connection, set_remote
from hardware.camera import SourceTrack, SyntheticSource
from hardware.testpattern import TestPattern

OFFER_LINES = [
    "a=candidate:1 1 udp 2130706431 192.0.2.2 50000 typ host",
    "a=candidate:2 1 udp 2130706431 127.0.0.1 50001 typ host",
    "a=candidate:3 1 udp 2130706431 abcd.local 50002 typ host",
    "a=candidate:4 1 udp 2130706431 ::1 50003 typ host",
]


def test_entries_are_interfaces_addresses_or_networks() -> None:
    policy = ice.IcePolicy.parse("eth0, 192.168.10.0/24 127.0.0.1")
    assert policy.interfaces == {"eth0"}
    assert policy.admits("192.168.10.77") and policy.admits("127.0.0.1")
    assert not policy.admits("10.0.0.1") and not policy.admits("abcd.local")
    assert policy.admits("10.0.0.1", interface="eth0")
    assert ice.IcePolicy.parse([]).open and ice.IcePolicy.parse([]).admits("198.51.100.1")
    for bad in ("192.168.1.0/33", "eth0;rm", "-", "1eth"):
        with pytest.raises(ice.IcePolicyError, match="ice_addresses"):
            ice.IcePolicy.parse([bad])


def test_a_policy_admitting_no_address_here_is_refused_and_loopback_is_kept() -> None:
    try:
        with pytest.raises(ice.IcePolicyError, match="admits no address"):
            ice.restrict(["203.0.113.0/24"])
        assert ice.policy().admits("127.0.0.1")  # the earlier policy stands
        assert ice.restrict(["lo"]).host_addresses(True, False) == ["127.0.0.1"]
    finally:
        ice.restrict(["127.0.0.1"])


def test_remote_candidates_outside_the_policy_are_dropped() -> None:
    sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" + "\r\n".join(OFFER_LINES) + "\r\n"
    kept = ice.filter_sdp(sdp)
    assert "127.0.0.1 50001" in kept
    assert "192.0.2.2" not in kept and ".local" not in kept and "::1" not in kept
    assert kept.startswith("v=0\r\nm=video")
    assert ice.candidate_address(OFFER_LINES[0]) == "192.0.2.2"
    assert ice.candidate_address("candidate:garbage") is None


def _nominated(pc: object) -> list[tuple[str, str]]:
    pairs = []
    for transceiver in pc.getTransceivers():  # type: ignore[attr-defined]
        connection = transceiver.sender.transport.transport._connection
        for pair in connection._nominated.values():
            pairs.append((pair.local_candidate.host, pair.remote_candidate.host))
    return pairs


async def test_a_real_call_gathers_and_connects_on_loopback_only() -> None:
    source = SyntheticSource(TestPattern(640, 480).render_bgr, 15, name="ice-test")
    source.start()
    caller, callee = create_peer_connection(), create_peer_connection()
    try:
        caller.addTransceiver(SourceTrack(source), direction="sendonly")
        await caller.setLocalDescription(await caller.createOffer())
        offered = [line for line in caller.localDescription.sdp.splitlines()
                   if line.startswith("a=candidate:")]
        assert offered and all(ice.candidate_address(c) == "127.0.0.1" for c in offered)
        await set_remote(callee, caller.localDescription.sdp, "offer")
        await callee.setLocalDescription(await callee.createAnswer())
        await set_remote(caller, callee.localDescription.sdp, "answer")
        for _ in range(200):
            if caller.connectionState == "connected" == callee.connectionState:
                break
            await asyncio.sleep(0.05)
        assert caller.connectionState == "connected"
        pairs = _nominated(caller) + _nominated(callee)
        assert pairs and all(pair == ("127.0.0.1", "127.0.0.1") for pair in pairs)
    finally:
        await close_quietly(caller)
        await close_quietly(callee)
        source.stop()
