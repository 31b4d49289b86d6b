"""Pairing, the SDP/ICE relay between paired devices only, heartbeats, resume and restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.signaling.conftest import Branch, BranchFactory, Device, wait_until

SDP = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
       "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n")
CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"


async def _no_more(device: Device, then: Device, pairing: str) -> None:
    """Prove ``device`` got nothing else: ``then`` sends a marker ICE that arrives next."""
    await then.send({"type": "ice", "peer": device.device_id, "pairing": pairing,
                     "candidate": "", "sdp_mid": "marker"})
    msg = await device.recv()
    assert (msg["type"], msg.get("sdp_mid")) == ("ice", "marker"), msg


# --- pairing ----------------------------------------------------------------------------


async def test_booth_is_paired_with_the_least_loaded_online_hub(branch: Branch) -> None:
    hubs = {h: await branch.connect(h, "hub") for h in ("hub-a", "hub-b", "hub-c")}
    for hub_id, slots in (("hub-a", 6), ("hub-b", 6), ("hub-c", 2)):
        assert (await hubs[hub_id].request({"type": "capacity", "slots": slots}))["type"] == "ok"
    await hubs["hub-c"].close()  # offline hubs take no booths
    await wait_until(lambda: "hub-c" not in branch.server.connections, "hub-c offline")
    chosen = []
    for i in range(5):
        booth = await branch.connect(f"booth-{i}", "booth")
        assert (await booth.request({"type": "service_request"}))["type"] == "ok"
        pair = await booth.expect("pair")
        assert pair["booth"] == f"booth-{i}"
        chosen.append(pair["hub"])
    # Ties go to the hub with more free slots, then by id; the load stays balanced.
    assert chosen == ["hub-a", "hub-b", "hub-a", "hub-b", "hub-a"]
    active = await branch.server.db.call(branch.server.db.sync.active_pairings)
    assert sorted(r.hub for r in active) == ["hub-a", "hub-a", "hub-a", "hub-b", "hub-b"]


async def test_booth_waits_until_a_hub_has_room_and_a_hub_takes_at_most_its_slots(
    branch: Branch,
) -> None:
    hub = await branch.connect("hub-01", "hub")
    booths = [await branch.connect(f"booth-0{i}", "booth") for i in range(3)]
    for b in booths:
        assert (await b.request({"type": "service_request"}))["type"] == "ok"
    assert branch.server.health()["waiting"] == 3
    await hub.request({"type": "capacity", "slots": 2})
    first = [await hub.expect("pair") for _ in range(2)]
    assert [p["booth"] for p in first] == ["booth-00", "booth-01"]  # arrival order
    assert branch.server.health()["waiting"] == 1
    # Releasing one pairing frees the slot for the third booth.
    reply = await booths[0].request({"type": "release", "pairing": first[0]["pairing"]})
    assert reply["type"] == "ok"
    assert (await booths[0].expect("release"))["reason"] == "done"
    assert (await booths[2].expect("pair"))["hub"] == "hub-01"


async def test_capacity_above_six_is_refused(branch: Branch) -> None:
    hub = await branch.connect("hub-01", "hub")
    reply = await hub.request({"type": "capacity", "slots": 7})
    assert (reply["code"], reply["detail"]) == ("bad_message", "field 'slots' must be at most 6")


async def test_asking_again_while_paired_repeats_the_pairing(branch: Branch) -> None:
    booth, _hub, pairing = await branch.pair()
    assert (await booth.request({"type": "service_request"}))["type"] == "ok"
    assert (await booth.expect("pair"))["pairing"] == pairing
    assert len(branch.snapshot()["pairings"]) == 1


# --- relay ------------------------------------------------------------------------------


async def test_offer_answer_and_ice_pass_between_paired_devices(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    await hub.send({"type": "offer", "peer": "booth-01", "pairing": pairing, "sdp": SDP})
    offer = await booth.expect("offer")
    assert (offer["peer"], offer["sdp"], offer["pairing"]) == ("hub-01", SDP, pairing)
    await booth.send({"type": "answer", "peer": "hub-01", "pairing": pairing, "sdp": SDP})
    assert (await hub.expect("answer"))["peer"] == "booth-01"
    await booth.send({"type": "ice", "peer": "hub-01", "pairing": pairing,
                      "candidate": CANDIDATE, "sdp_mid": "0", "sdp_mline_index": 0})
    ice = await hub.expect("ice")
    assert (ice["candidate"], ice["sdp_mid"], ice["sdp_mline_index"]) == (CANDIDATE, "0", 0)
    assert ice["peer"] == "booth-01"  # the receiver sees who really sent it


async def test_seat_changes_reach_the_paired_hub_only_from_the_booth(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    await booth.send({"type": "seat", "peer": "hub-01", "pairing": pairing, "occupied": False})
    seat = await hub.expect("seat")
    assert (seat["peer"], seat["occupied"]) == ("booth-01", False)
    # A hub cannot claim a booth's seat state.
    reply = await hub.request({"type": "seat", "peer": "booth-01", "pairing": pairing,
                               "occupied": True})
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    await _no_more(booth, hub, pairing)


@pytest.mark.parametrize(
    "case", ["unpaired-peer", "someone-elses-pairing", "booth-to-booth", "unknown-pairing"]
)
async def test_relay_outside_the_pairing_is_refused(branch: Branch, case: str) -> None:
    booth1, hub1, p1 = await branch.pair("booth-01", "hub-01")
    booth2, hub2, p2 = await branch.pair("booth-02", "hub-02")
    lone = await branch.connect("hub-09", "hub")
    sender: Device
    msg: dict[str, Any]
    if case == "unpaired-peer":
        sender, msg = lone, {"peer": "booth-01", "pairing": p1}
    elif case == "someone-elses-pairing":
        sender, msg = booth2, {"peer": "hub-01", "pairing": p1}
    elif case == "booth-to-booth":
        sender, msg = booth1, {"peer": "booth-02", "pairing": p1}
    else:
        sender, msg = booth1, {"peer": "hub-01", "pairing": "p-000000000000"}
    reply = await sender.request({"type": "ice", "candidate": CANDIDATE, **msg})
    assert reply["type"] == "error" and reply["code"] == "not_paired"
    assert sender.device_id in reply["detail"]
    # Nobody received anything.
    await _no_more(booth1, hub1, p1)
    await _no_more(hub1, booth1, p1)
    await _no_more(hub2, booth2, p2)


async def test_malformed_sdp_is_refused_and_never_reaches_the_peer(branch: Branch) -> None:
    booth, hub, pairing = await branch.pair()
    for sdp in ("", "hello", "v=0\r\nnot sdp at all\r\n", "v=0\r\ns=-\r\n"):
        reply = await hub.request({"type": "offer", "peer": "booth-01", "pairing": pairing,
                                   "sdp": sdp})
        assert reply["code"] == "bad_message" and "'sdp'" in reply["detail"]
    await _no_more(booth, hub, pairing)


async def test_relay_to_an_offline_peer_says_so(start_branch: BranchFactory) -> None:
    branch = await start_branch(resume_window_s=60.0)
    booth, hub, pairing = await branch.pair()
    await booth.close()
    await wait_until(lambda: "booth-01" not in branch.server.connections, "booth offline")
    reply = await hub.request({"type": "ice", "peer": "booth-01", "pairing": pairing})
    assert (reply["code"], reply["detail"]) == ("peer_offline", "booth-01 is offline")


async def test_release_of_a_pairing_that_is_not_yours_is_refused(branch: Branch) -> None:
    _b1, _h1, p1 = await branch.pair("booth-01", "hub-01")
    other = await branch.connect("booth-02", "booth")
    reply = await other.request({"type": "release", "pairing": p1})
    assert reply["code"] == "not_paired"
    assert [r[0] for r in branch.snapshot()["pairings"] if r[4] is None] == [p1]


# --- heartbeats and the resume window ---------------------------------------------------


async def test_device_that_stops_answering_pings_is_marked_offline(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(heartbeat_s=0.3, resume_window_s=60.0)
    hub = await branch.connect("hub-01", "hub")
    silent = await branch.connect("booth-01", "booth")
    assert silent.welcome["heartbeat_s"] == 0.3
    silent.mute()  # the socket stays open; pings go unanswered
    # OFFLINE_TIMEOUT_S is 1.5 heartbeats; allow the shared machine plenty more.
    await wait_until(lambda: "booth-01" not in branch.server.connections, "booth offline")
    devices = {d["id"]: d for d in await branch.server.db.call(branch.server.db.sync.devices)}
    assert devices["booth-01"]["online"] is False
    assert devices["hub-01"]["online"] is True  # a hub that answers pings stays
    assert branch.server.health()["devices"] == {"hub": 1}
    await hub.close()


async def test_device_back_inside_the_resume_window_keeps_its_pairing(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(heartbeat_s=0.3, resume_window_s=60.0)
    hub = await branch.connect("hub-01", "hub")
    await hub.request({"type": "capacity", "slots": 1})
    booth = await branch.connect("booth-01", "booth")
    await booth.request({"type": "service_request"})
    pairing = (await hub.expect("pair"))["pairing"]
    booth.mute()
    await wait_until(lambda: "booth-01" not in branch.server.connections, "booth offline")
    back = await branch.connect("booth-01", "booth", resume=True)
    assert back.welcome["resumed"] is True
    pair = await back.expect("pair")
    assert (pair["pairing"], pair["hub"]) == (pairing, "hub-01")
    await back.send({"type": "ice", "peer": "hub-01", "pairing": pairing})
    assert (await hub.expect("ice"))["peer"] == "booth-01"
    assert [r[0] for r in branch.snapshot()["pairings"] if r[4] is None] == [pairing]


async def test_after_the_resume_window_the_pairing_is_released_and_the_peer_told(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(heartbeat_s=0.3, resume_window_s=0.5)
    hub = await branch.connect("hub-01", "hub")
    await hub.request({"type": "capacity", "slots": 1})
    booth = await branch.connect("booth-01", "booth")
    await booth.request({"type": "service_request"})
    pairing = (await hub.expect("pair"))["pairing"]
    booth.mute()
    release = await hub.expect("release")
    assert (release["pairing"], release["reason"]) == (pairing, "peer_offline")
    [row] = branch.snapshot()["pairings"]
    assert (row[0], row[5]) == (pairing, "peer_offline") and row[4] is not None
    # The hub's slot is free again for the next booth.
    other = await branch.connect("booth-02", "booth")
    await other.request({"type": "service_request"})
    assert (await other.expect("pair"))["hub"] == "hub-01"
    # The late booth is welcomed, but not resumed.
    late = await branch.connect("booth-01", "booth", resume=True)
    assert late.welcome["resumed"] is False


# --- persistence across a restart -------------------------------------------------------


async def test_registry_pairings_and_audit_survive_a_restart(start_branch: BranchFactory) -> None:
    first = await start_branch(resume_window_s=60.0)
    _booth, _hub, pairing = await first.pair()
    before = first.snapshot()
    await first.stop()
    second = await start_branch(resume_window_s=60.0)
    after = second.snapshot()
    assert after["pairings"] == before["pairings"]
    assert [r[0] for r in after["devices"]] == [r[0] for r in before["devices"]]
    assert after["audit"][: len(before["audit"])] == before["audit"]  # only appended to
    actions = [r[3] for r in after["audit"]]
    assert actions[-2:] == ["stop", "start"]
    for device_id, role in (("booth-01", "booth"), ("hub-01", "hub")):
        device = await second.connect(device_id, role, resume=True)
        assert device.welcome["resumed"] is True
        pair = await device.expect("pair")
        assert pair["pairing"] == pairing


async def test_many_devices_at_once_are_all_paired(branch: Branch) -> None:
    hubs = [await branch.connect(f"hub-{i}", "hub") for i in range(3)]
    for h in hubs:
        await h.request({"type": "capacity", "slots": 6})
    booths = await asyncio.gather(*(branch.connect(f"booth-{i:02d}", "booth")
                                    for i in range(18)))
    await asyncio.gather(*(b.request({"type": "service_request"}) for b in booths))
    pairs = await asyncio.gather(*(b.expect("pair") for b in booths))
    load: dict[str, int] = {}
    for pair in pairs:
        load[pair["hub"]] = load.get(pair["hub"], 0) + 1
    assert load == {"hub-0": 6, "hub-1": 6, "hub-2": 6}
