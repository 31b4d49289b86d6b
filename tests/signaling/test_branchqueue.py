"""The queue inside a real branch server: kiosk, displays, booths and hubs over real sockets."""

from __future__ import annotations

import time
from typing import Any

from signaling.branchqueue import QUEUE_KEY
from signaling.queue import events as ev
from tests.signaling.conftest import Branch, BranchFactory, Device, wait_until


async def _get(branch: Branch, path: str, token: str) -> tuple[int, Any]:
    async with branch.http.get(branch.url(path),
                               headers={"Authorization": f"Bearer {token}"}) as reply:
        return reply.status, await reply.json()


async def _hub(branch: Branch, hub_id: str = "hub-01", slots: int = 6) -> Device:
    hub = await branch.connect(hub_id, "hub")
    reply = await hub.request({"type": "capacity", "slots": slots, "officer": f"o-{hub_id}"})
    assert reply["type"] == "ok", reply
    return hub


async def _ticket(kiosk: Device, service: str = "jht", priority: str = "none") -> dict[str, Any]:
    sent = await kiosk.send({"type": "ticket_request", "service": service, "priority": priority})
    info = await kiosk.expect("ticket_info", ref=sent)
    return info


async def test_walk_in_is_numbered_called_claimed_and_paired_with_its_ticket(
    branch: Branch,
) -> None:
    display = await branch.connect("display-01", "display")
    hub = await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    info = await _ticket(kiosk)
    assert info["number"] == "A001" and info["qr"].startswith("BILIK1:T:kc-01:")
    assert info["expected_wait_s"] >= 0
    booth = await branch.connect("booth-03", "booth")
    called = await display.expect("called", number="A001")
    assert (called["booth"], called["label"]) == ("booth-03", "Bilik 3")
    await booth.expect("called", number="A001")

    reply = await booth.request({"type": "claim", "qr": info["qr"]})
    assert reply["type"] == "ok", reply
    await display.expect("cleared", number="A001", reason="claimed")
    pair_b = await booth.expect("pair")
    pair_h = await hub.expect("pair", booth="booth-03")
    assert pair_b["pairing"] == pair_h["pairing"]
    assert (pair_h["ticket"], pair_h["number"], pair_h["service"]) == (
        info["ticket"], "A001", "jht")
    # The pairing with its ticket is on disk, and the audit log says who paired it.
    rows = branch.snapshot()
    assert any(r[0] == pair_b["pairing"] and info["ticket"] in r for r in rows["pairings"])


async def test_a_claim_at_the_wrong_booth_is_refused_and_changes_nothing(branch: Branch) -> None:
    await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    first = await branch.connect("booth-01", "booth")
    info = await _ticket(kiosk)
    await first.expect("called", number="A001")
    other = await branch.connect("booth-02", "booth")
    queue = branch.app[QUEUE_KEY]
    before = queue.scheduler.to_dict()

    reply = await other.request({"type": "claim", "qr": info["qr"]})
    assert reply["type"] == "error" and reply["code"] == "wrong_booth"
    assert "Bilik 1" in reply["detail"] and reply["text_key"].startswith("queue.")
    forged = info["qr"][:-3] + "zzz"
    reply = await first.request({"type": "claim", "qr": forged})
    assert reply["type"] == "error" and reply["code"] == "invalid_qr"
    assert queue.scheduler.to_dict() == before


async def test_priority_ticket_is_called_before_earlier_walk_ins(branch: Branch) -> None:
    await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    walk_in = await _ticket(kiosk)
    elderly = await _ticket(kiosk, priority="elderly")
    booth = await branch.connect("booth-01", "booth")
    called = await booth.expect("called")
    assert called["ticket"] == elderly["ticket"] != walk_in["ticket"]
    bad = await kiosk.request({"type": "ticket_request", "service": "jht", "priority": "vip"})
    assert bad["type"] == "error" and "priority must be one of" in bad["detail"]
    unknown = await kiosk.request({"type": "ticket_request", "service": "nope"})
    assert unknown["type"] == "error" and unknown["code"] == "unknown_service"


async def _seat(branch: Branch, kiosk: Device, booth: Device) -> dict[str, Any]:
    info = await _ticket(kiosk)
    await booth.expect("called", number=info["number"])
    assert (await booth.request({"type": "claim", "qr": info["qr"]}))["type"] == "ok"
    return await booth.expect("pair")


async def test_a_hub_that_goes_offline_has_its_booths_repaired_with_another(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(hub_failover_s=0.5)
    hub1 = await _hub(branch, "hub-01", slots=1)
    hub2 = await _hub(branch, "hub-02", slots=1)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    first = await _seat(branch, kiosk, booth)
    gone, stays = (hub1, hub2) if first["hub"] == "hub-01" else (hub2, hub1)
    await gone.close()
    await booth.expect("release", pairing=first["pairing"])
    again = await booth.expect("pair")
    assert again["hub"] == stays.device_id and again["ticket"] == first["ticket"]
    await stays.expect("pair", booth="booth-01", ticket=first["ticket"])


async def test_a_booth_device_fault_mid_session_waits_for_the_session_end(
    branch: Branch,
) -> None:
    hub = await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    broken = await branch.connect("booth-01", "booth")
    seated = await _seat(branch, kiosk, broken)
    later = await _ticket(kiosk)  # a later walk-in, waiting
    status = {"type": "status", "state": "in_session", "health": {"camera": "error"}}
    assert (await broken.request(status))["type"] == "ok"
    # The participant is seated: the officer is told, the session goes on.
    alert = await hub.expect("alert", kind="device_fault")
    assert (alert["subject"], alert["ticket"]) == ("booth-01", seated["ticket"])
    assert "camera" in alert["detail"]
    queue = branch.app[QUEUE_KEY]
    booth = queue.scheduler.booths["booth-01"]
    assert not booth.faulty and booth.ticket == seated["ticket"] and booth.hub == "hub-01"
    # The session ends: then the booth leaves service, and the next ticket goes elsewhere.
    end = {"type": "session_end", "booth": "booth-01", "outcome": "approved"}
    assert (await hub.request(end))["type"] == "ok"
    await broken.expect("release", pairing=seated["pairing"])
    await wait_until(lambda: queue.scheduler.booths["booth-01"].faulty, "booth faulty")
    spare = await branch.connect("booth-02", "booth")
    called = await spare.expect("called")
    assert called["ticket"] == later["ticket"]
    # Healthy again: it may call the next ticket.
    ok = {"type": "status", "state": "idle", "health": {"camera": "ok"}}
    assert (await broken.request(ok))["type"] == "ok"
    await wait_until(lambda: not queue.scheduler.booths["booth-01"].faulty, "booth healthy")


async def test_a_booth_device_fault_before_the_claim_moves_its_ticket_without_losing_its_place(
    branch: Branch,
) -> None:
    display = await branch.connect("display-01", "display")
    await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    broken = await branch.connect("booth-01", "booth")
    first = await _ticket(kiosk)
    await broken.expect("called", number=first["number"])
    await _ticket(kiosk)  # a later walk-in, waiting
    status = {"type": "status", "state": "idle", "health": {"camera": "error"}}
    assert (await broken.request(status))["type"] == "ok"
    await display.expect("cleared", reason="moved")
    spare = await branch.connect("booth-02", "booth")
    called = await spare.expect("called")
    assert called["ticket"] == first["ticket"]  # first in line, ahead of the later walk-in
    assert branch.app[QUEUE_KEY].scheduler.booths["booth-01"].faulty


async def test_the_queue_survives_a_server_restart(start_branch: BranchFactory) -> None:
    branch = await start_branch()
    kiosk = await branch.connect("kiosk-01", "kiosk")
    numbers = [(await _ticket(kiosk))["number"] for _ in range(2)]
    await branch.stop()

    again = await start_branch()
    admin = again.token("admin", "ops-1")
    status, view = await _get(again, "/api/queue", admin)
    assert status == 200
    assert [t["number"] for t in view["waiting"]] == numbers == ["A001", "A002"]
    kiosk = await again.connect("kiosk-01", "kiosk")
    assert (await _ticket(kiosk))["number"] == "A003"


async def test_appointments_import_and_check_in_by_booking_code(branch: Branch) -> None:
    admin = branch.token("admin", "ops-1")
    slot = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 600))
    csv = f"code,service,slot,branch,name\nBK-1001,jht,{slot},kc-01,Siti\n"
    async with branch.http.post(
        branch.url("/api/queue/appointments"), data=csv.encode(),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"},
    ) as reply:
        assert reply.status == 200, await reply.text()
        assert (await reply.json())["imported"] == 1
    bad = '[{"code": "BK-2", "service": "nope", "slot": "soon"}]'
    async with branch.http.post(
        branch.url("/api/queue/appointments"), data=bad.encode(),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    ) as reply:
        body = await reply.json()
        assert reply.status == 400 and body["error"] == "bad_import"
        assert {r["field"] for r in body["rows"]} >= {"service"}

    kiosk = await branch.connect("kiosk-01", "kiosk")
    sent = await kiosk.send({"type": "check_in", "code": "BK-1001"})
    info = await kiosk.expect("ticket_info", ref=sent)
    assert info["number"] == "R001" and info["slot"] is not None
    twice = await kiosk.request({"type": "check_in", "code": "BK-1001"})
    assert twice["type"] == "error" and twice["text_key"]


async def test_an_unclaimed_call_is_recalled_once_then_a_no_show(branch: Branch) -> None:
    queue = branch.app[QUEUE_KEY]
    now = [time.time()]
    branch.server.clock = lambda: now[0]
    await _hub(branch)
    display = await branch.connect("display-01", "display")
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    info = await _ticket(kiosk)
    await display.expect("called", number=info["number"], attempt=0)
    now[0] += queue.rules.claim_timeout_s + 1
    await queue.handle(ev.Tick(), actor="test")
    await display.expect("called", number=info["number"], attempt=1)
    now[0] += queue.rules.claim_timeout_s + 1
    await queue.handle(ev.Tick(), actor="test")
    await display.expect("cleared", number=info["number"], reason="no_show")
    await booth.expect("cleared", number=info["number"], reason="no_show")
    status, stats = await _get(branch, "/api/stats", branch.token("admin", "ops-1"))
    assert status == 200 and stats["day"]["no_shows"] == 1 and stats["day"]["issued"] == 1


async def test_a_session_ended_by_the_officer_frees_the_slot_and_counts(branch: Branch) -> None:
    hub = await _hub(branch, slots=1)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    seated = await _seat(branch, kiosk, booth)
    assert (await hub.request({"type": "focus", "booth": "booth-01"}))["type"] == "ok"
    stranger = await hub.request({"type": "session_end", "booth": "booth-09", "outcome": "x"})
    assert stranger["type"] == "error" and stranger["code"] == "not_paired"
    done = await hub.request({"type": "session_end", "booth": "booth-01",
                              "outcome": "approved"})
    assert done["type"] == "ok", done
    await booth.expect("release", pairing=seated["pairing"])
    assert (await booth.request({"type": "booth_ready"}))["type"] == "ok"
    status, stats = await _get(branch, "/api/stats", branch.token("admin", "ops-1"))
    assert status == 200 and stats["day"]["claims"] == 1
    assert stats["day"]["handle"]["n"] == 1 if "n" in stats["day"]["handle"] else True
    metrics = await (await branch.http.get(branch.url("/metrics"))).text()
    assert 'bilik_queue_decisions_total{kind="session_closed"} 1.0' in metrics


async def test_pairings_outside_the_queue_use_the_same_hub_slots(branch: Branch) -> None:
    hub = await _hub(branch, slots=1)
    direct = await branch.connect("booth-09", "booth")
    assert (await direct.request({"type": "service_request"}))["type"] == "ok"
    await direct.expect("pair")
    await hub.expect("pair", booth="booth-09")
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    info = await _ticket(kiosk)
    await booth.expect("called")
    assert (await booth.request({"type": "claim", "qr": info["qr"]}))["type"] == "ok"
    waiting = await booth.expect("waiting")  # the hub's only slot is taken
    assert waiting["ticket"] == info["ticket"]
    await direct.close()
    pairing = branch.server.book.of_booth("booth-09")
    assert pairing is not None
    await branch.server.release(pairing.id, ev_reason(), actor="test")
    paired = await booth.expect("pair")
    assert paired["ticket"] == info["ticket"]


def ev_reason() -> Any:
    from signaling.protocol import ReleaseReason

    return ReleaseReason.DONE


async def _sign_in(branch: Branch, hub: Device, officer: str) -> None:
    admin = branch.token("admin", "ops-1")
    async with branch.http.post(
        branch.url("/api/cases/officers"), json={"id": officer, "pin": "2468", "name": officer},
        headers={"Authorization": f"Bearer {admin}"},
    ) as reply:
        assert reply.status in (200, 201), await reply.text()
    signed = await hub.request({"type": "officer_sign_in", "officer": officer, "pin": "2468"})
    assert signed["type"] == "ok", signed


async def test_transfer_and_park_keep_the_ticket_and_its_history(branch: Branch) -> None:
    hub1 = await _hub(branch, "hub-01", slots=1)
    await _sign_in(branch, hub1, "officer-1")
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    seated = await _seat(branch, kiosk, booth)
    assert seated["hub"] == "hub-01"
    hub2 = await _hub(branch, "hub-02", slots=1)
    await _sign_in(branch, hub2, "officer-2")
    moved = await hub1.request({"type": "transfer", "booth": "booth-01", "to_hub": "hub-02"})
    assert moved["type"] == "ok", moved
    await booth.expect("release", pairing=seated["pairing"], reason="transfer")
    again = await booth.expect("pair", hub="hub-02")
    assert again["ticket"] == seated["ticket"]
    await hub2.expect("pair", booth="booth-01", ticket=seated["ticket"])
    # Park frees the officer's slot; resume brings the case back with the same ticket.
    assert (await hub2.request({"type": "park", "booth": "booth-01"}))["type"] == "ok"
    await booth.expect("release", pairing=again["pairing"], reason="park")
    queue = branch.app[QUEUE_KEY]
    assert queue.scheduler.booths["booth-01"].held
    assert (await hub2.request({"type": "park", "booth": "booth-01", "resume": True}))[
        "type"] == "ok"
    back = await booth.expect("pair")
    assert back["ticket"] == seated["ticket"]
    history = [h for h in queue.scheduler.tickets[seated["ticket"]].history]
    assert len(history) >= 4  # issued, called, claimed, paired, transferred, parked...


async def test_todays_figures_reach_prometheus(branch: Branch) -> None:
    await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    await _ticket(kiosk)
    queue = branch.app[QUEUE_KEY]
    queue.metrics.publish((await queue.stats(queue.day_start()))["day"])
    metrics = await (await branch.http.get(branch.url("/metrics"))).text()
    assert 'bilik_queue_today{figure="issued"} 1.0' in metrics
    queue._update_gauges()
    metrics = await (await branch.http.get(branch.url("/metrics"))).text()
    assert "bilik_queue_waiting 1.0" in metrics


async def test_a_display_that_connects_is_shown_the_current_calls(branch: Branch) -> None:
    await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    await branch.connect("booth-02", "booth")
    info = await _ticket(kiosk)
    late = await branch.connect("display-01", "display")
    called = await late.expect("called", number=info["number"])
    assert called["label"] == "Bilik 2"


async def test_a_restart_rebuilds_the_queue_from_snapshot_and_journal(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch()
    queue = branch.app[QUEUE_KEY]
    queue.snapshot_every = 3  # snapshots and replayed events both take part below
    await _hub(branch)
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    for _ in range(4):
        await _ticket(kiosk)
    await booth.expect("called")
    before = queue.scheduler.to_dict()
    await branch.stop()

    again = await start_branch()
    assert again.app[QUEUE_KEY].scheduler.to_dict() == before


async def test_focus_on_a_booth_served_outside_the_queue_is_accepted_not_journaled(
    branch: Branch,
) -> None:
    """Direct service requests (diagnostics, benchmarks) pair outside the queue: the
    officer may still focus such a booth; only booths of other hubs are refused."""
    _booth, hub, _pairing = await branch.pair()
    before = len(branch.snapshot()["audit"])
    assert (await hub.request({"type": "focus", "booth": "booth-01"}))["type"] == "ok"
    other = await hub.request({"type": "focus", "booth": "booth-09"})
    assert other["type"] == "error", other
    assert len(branch.snapshot()["audit"]) == before


async def test_a_parked_case_whose_officer_is_gone_goes_to_the_officer_who_resumes_it(
    start_branch: BranchFactory,
) -> None:
    branch = await start_branch(hub_failover_s=0.5)
    parker = await _hub(branch, "hub-01")
    await _sign_in(branch, parker, "officer-1")
    kiosk = await branch.connect("kiosk-01", "kiosk")
    booth = await branch.connect("booth-01", "booth")
    seated = await _seat(branch, kiosk, booth)
    assert (await parker.request({"type": "park", "booth": "booth-01"}))["type"] == "ok"
    await booth.expect("release", reason="park")
    await parker.close()  # the parking officer's hub is gone
    queue = branch.app[QUEUE_KEY]
    await wait_until(lambda: not queue.scheduler.hubs["hub-01"].online, "hub-01 offline")
    # Two other officers: hub-03 already serves a booth, hub-02 none (the least loaded).
    resumer = await _hub(branch, "hub-03")
    await _sign_in(branch, resumer, "officer-3")
    other = await branch.connect("booth-02", "booth")
    assert (await _seat(branch, kiosk, other))["hub"] == "hub-03"
    idle = await _hub(branch, "hub-02")
    await _sign_in(branch, idle, "officer-2")
    reply = await resumer.request({"type": "park", "booth": "booth-01", "resume": True})
    assert reply["type"] == "ok", reply
    back = await booth.expect("pair")
    assert back["hub"] == "hub-03" and back["ticket"] == seated["ticket"]
