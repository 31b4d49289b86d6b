"""Park keeps the case: the officer parks a booth's case, the participant stays and the
booth's screen says the officer will come back (both languages); the hub keeps the case
with its timer; Resume brings the booth back to the officer with its history. Real server
with its queue, real hub, a real booth agent, a kiosk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bilik.catalogue import text
from booth.config import BoothConfig
from booth.state import SESSION_STATES, BoothState
from booth.view import ScreenName
from hardware.emulators.printer import start_pty_emulator
from hardware.emulators.scanner import ScannerEmulator
from officer.console import state
from officer.desk import DeskError
from signaling.branchqueue import QUEUE_KEY
from tests.officer.conftest import Branch, stopped, until
from tests.officer.consolepeer import ConsolePeer
from tests.officer.test_fault_mid_session import booth_agent
from tests.officer.test_skill_routing import queue_view, ticket

pytestmark = pytest.mark.slow


async def test_park_keeps_the_participant_and_resume_brings_the_case_back(
    branch: Branch, tmp_path: Path,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    console = ConsolePeer(hub)
    await console.sign_in()
    printer = start_pty_emulator(tmp_path / "printer")
    reader = ScannerEmulator()
    config = BoothConfig(server=branch.url, id="booth-01", flow="ticket",
                         printer=printer.address, reader=reader.path,
                         data_dir=tmp_path / "booth", goodbye_s=2.0, read_aloud=False)
    agent = booth_agent(config, branch)
    queue = branch.server.app[QUEUE_KEY]
    try:
        await agent.start()
        info = await ticket(branch, "jht")
        await until(lambda: info.ticket in agent.inbound.called, "the ticket called to booth-01")
        reader.scan(info.qr)
        await until(lambda: agent.booth.state in SESSION_STATES, "the session")
        await until(lambda: hub.peer_of("booth-01") is not None, "booth-01 at the officer")
        first_pairing = hub.peer_of("booth-01").pairing  # type: ignore[union-attr]
        # The call is up before the officer parks it (aioice starts its consent checks
        # after a close that lands mid-connect: a task the test would leak).
        await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                    and peer.meter.frames > 5, "booth-01's video at the hub")

        await hub.desk.park("booth-01", False)
        # The participant waits at the booth, and its screen says why.
        await until(lambda: agent.booth.state is BoothState.WAITING and agent.booth.parked,
                    "the booth waiting, parked")
        parked = text("booth.parked")

        def parked_on_screen() -> bool:
            snap = agent.screen.last
            shown = " ".join(snap.drawn) if snap is not None else ""
            return (snap is not None and snap.view.screen is ScreenName.WAITING
                    and parked.id in shown and parked.en in shown)

        await until(parked_on_screen, "the parked screen in both languages")
        assert agent.booth.ticket == info.ticket
        # The officer's seat is free, the case stays at the hub with its timer.
        await until(lambda: hub.peer_of("booth-01") is None, "the seat freed")
        assert queue.scheduler.booths["booth-01"].held
        tiles = state(hub)["parked"]
        assert [(t["booth"], t["ticket"]) for t in tiles] == [("booth-01", info.ticket)]
        assert tiles[0]["parked_s"] >= 0 and not tiles[0]["overdue"]
        assert [e["kind"] for e in tiles[0]["case"]["events"]] == ["park"]

        # Past the limit, the case is flagged (the clocks moved on rather than waiting).
        limit = tiles[0]["limit_s"]
        real_hub_clock, real_server_clock = hub.clock, branch.branch.clock
        hub.clock = lambda: real_hub_clock() + limit + 1
        branch.branch.clock = lambda: real_server_clock() + limit + 1
        try:
            assert state(hub)["parked"][0]["overdue"]
            view = await queue_view(branch)
            assert view["parked"]["booth-01"]["overdue"] is True
        finally:
            hub.clock = real_hub_clock
            branch.branch.clock = real_server_clock

        # A booth nobody parked cannot be resumed.
        with pytest.raises(DeskError) as refused:
            await hub.desk.park("booth-09", True)
        assert refused.value.code == "not_found"

        # Resume: back at the officer, the same ticket, the history kept.
        await hub.desk.park("booth-01", True)
        await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                    and peer.ticket == info.ticket, "booth-01 back at the officer")
        assert hub.peer_of("booth-01").pairing != first_pairing  # type: ignore[union-attr]
        await until(lambda: agent.booth.state in SESSION_STATES
                    and not agent.booth.parked, "the booth in session again")
        assert state(hub)["parked"] == []
        await until(lambda: [e["kind"] for e in hub.desk.cases.get("booth-01", {}).get(
            "events", [])] == ["park", "resume"], "the case's history after resuming")
        # The call is up again (and not torn down half-connected at the end of the test).
        await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                    and peer.meter.frames > 5, "booth-01's video at the hub again")
    finally:
        await console.close()
        await stopped(agent.stop(), "the booth agent")
        printer.close()
        reader.close()


async def test_a_case_served_outside_the_queue_parks_and_resumes_in_its_seat(
    branch: Branch,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    console = ConsolePeer(hub)
    await console.sign_in()
    try:
        await branch.booth("booth-01", receive=False)  # asks for any officer: no ticket
        await until(lambda: hub.peer_of("booth-01") is not None, "booth-01 paired")
        await hub.desk.park("booth-01", False)
        tile = next(b for b in state(hub)["booths"] if b["booth"] == "booth-01")
        assert tile["parked"] and state(hub)["parked"] == []
        await hub.desk.park("booth-01", True)
        tile = next(b for b in state(hub)["booths"] if b["booth"] == "booth-01")
        assert not tile["parked"]
        await until(lambda: [e["kind"] for e in hub.desk.cases["booth-01"]["events"]]
                    == ["park", "resume"], "both recorded in the case's history")
    finally:
        await console.close()
