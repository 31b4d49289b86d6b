"""The printer runs out of paper in the middle of a session: the participant finishes with
the officer (no unpairing, no second booth called), the officer is told, the receipt is
shown on the booth's screen marked as not printed, the booth reports it and the server
keeps it with the decision (the officer told, the case and the manager's page say "receipt
not printed"), and then the booth leaves service and the queue calls nobody to it. Real
server with its queue, a real officer hub, a real booth agent with emulated printer and
ticket reader, a kiosk."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from bilik.catalogue import text
from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.state import SESSION_STATES, BoothState
from booth.view import ScreenName
from hardware.camera import SyntheticSource
from hardware.emulators.printer import Fault, start_pty_emulator
from hardware.emulators.scanner import ScannerEmulator
from officer.console import state
from signaling import people
from signaling.branchqueue import QUEUE_KEY
from signaling.cases import case_view
from tests.officer.conftest import Branch, stopped, until
from tests.officer.consolepeer import ConsolePeer
from tests.officer.test_skill_routing import queue_view, ticket

pytestmark = pytest.mark.slow
CLAIM = {"nik": "3171234506780001", "name": "Siti Rahayu", "bank": "BRI", "account": "1234567890"}


async def manager_sees_it(branch: Branch, reference: str) -> None:
    """The manager's page (signed in over HTTP as a browser does) alerts "receipt not
    printed" for that claim."""
    db = branch.branch.db
    await db.call(people.add_manager, db.sync, "kacab-01", "135790", "", time.time(), "test")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{branch.http_base}/manager/api/sign-in",
                             json={"id": "kacab-01", "pin": "135790"}) as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{branch.http_base}/manager/api/overview") as r:
            assert r.status == 200, await r.text()
            overview = await r.json()
    (alert,) = [a for a in overview["alerts"] if a["kind"] == "receipt_not_printed"]
    assert alert["subject"] == "booth-01" and reference in alert["detail"]
    assert "receipt not printed" in alert["detail"] and "paper" in alert["detail"]


def booth_agent(config: BoothConfig, branch: Branch) -> BoothAgent:
    card = np.full((480, 640, 3), 200, np.uint8)  # a document camera that works
    return BoothAgent(config, branch.token("booth-01", "booth"), health_every_s=0.5,
                      document_camera=lambda: SyntheticSource(lambda _t: card, 10.0,
                                                              name="document-camera"))


async def test_paper_out_mid_session_lets_the_session_end_then_closes_the_booth(
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
        first = await ticket(branch, "jht")
        await until(lambda: first.ticket in agent.inbound.called, "the ticket called to booth-01")
        reader.scan(first.qr)
        # In session (scanning the documents the hub asked for at once).
        await until(lambda: agent.booth.state in SESSION_STATES, "the session")
        await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                    and peer.ticket == first.ticket, "booth-01 at the officer")
        pairing = hub.peer_of("booth-01").pairing  # type: ignore[union-attr]
        await until(lambda: (peer := hub.peer_of("booth-01")) is not None
                    and peer.meter.frames > 5, "the call up")

        # Paper out in the middle of the session: the officer is told, nothing moves.
        printer.set_faults(Fault.PAPER_OUT)
        await until(lambda: any(a["kind"] == "device_fault" for a in hub.desk.alerts),
                    "the officer told of the fault")
        alert = next(a for a in hub.desk.alerts if a["kind"] == "device_fault")
        assert alert["subject"] == "booth-01" and "printer" in alert["detail"]
        tile = next(b for b in state(hub)["booths"] if b["booth"] == "booth-01")
        assert tile["device_fault"] is not None
        second = await ticket(branch, "jht")  # someone else is waiting meanwhile
        assert agent.booth.state in SESSION_STATES and agent.booth.pairing == pairing
        booth = queue.scheduler.booths["booth-01"]
        assert booth.ticket == first.ticket and booth.hub == "hub-01" and not booth.faulty
        assert queue.scheduler.tickets[first.ticket].state.value == "claimed"
        assert branch.branch.book.of_booth("booth-01") is not None
        assert second.ticket not in agent.inbound.called

        # The officer decides: the receipt is shown on screen, marked as not printed.
        verdict = await hub.desk.decide("booth-01", "approved", "", [], CLAIM)
        await until(lambda: agent.booth.state is BoothState.RECEIPT, "the receipt")
        assert agent.booth.receipt_printed is False
        failed = text("booth.receipt_failed")

        def receipt_on_screen() -> bool:
            snap = agent.screen.last
            shown = " ".join(snap.drawn) if snap is not None else ""
            return failed.id.split(".")[0] in shown and verdict.reference in shown

        await until(receipt_on_screen, "the receipt on screen, marked not printed")
        assert printer.jobs == []

        # The booth reports it: the server keeps it with the decision, the officer is told.
        await until(lambda: any(a["kind"] == "receipt_not_printed"
                                for a in hub.desk.alerts), "the officer told of the receipt")
        told = next(a for a in hub.desk.alerts if a["kind"] == "receipt_not_printed")
        assert told["subject"] == "booth-01" and told["ticket"] == first.ticket
        assert verdict.reference in told["detail"] and "paper" in told["detail"]
        assert hub.desk.verdicts["booth-01"]["receipt"] == "not_printed"
        db = branch.branch.db
        case = await db.call(case_view, db.sync, pairing, first.ticket)
        (decided,) = case["decisions"]
        assert (decided["reference"], decided["receipt"]) == (verdict.reference, "not_printed")
        assert "paper" in decided["receipt_reason"]
        await manager_sees_it(branch, verdict.reference)

        # Then the booth leaves service, and the queue calls nobody to it.
        await until(lambda: agent.booth.state is BoothState.OUT_OF_SERVICE, "out of service")
        await until(lambda: agent.screen.last is not None
                    and agent.screen.last.view.screen is ScreenName.OUT_OF_SERVICE,
                    "the out-of-service screen")
        await until(lambda: queue.scheduler.booths["booth-01"].faulty, "faulty at the queue")
        view = await queue_view(branch)
        assert view["booths"]["booth-01"]["faulty"] is True
        assert "printer" in view["booths"]["booth-01"]["fault"]
        assert [t["ticket"] for t in view["waiting"]] == [second.ticket]
        assert second.ticket not in agent.inbound.called
        assert hub.peer_of("booth-01") is None
    finally:
        await console.close()
        await stopped(agent.stop(), "the booth agent")
        printer.close()
        reader.close()


async def test_a_fault_with_nobody_seated_moves_the_called_ticket_at_once(
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
        called = await ticket(branch, "jht")
        await until(lambda: called.ticket in agent.inbound.called, "the ticket called to booth-01")
        printer.set_faults(Fault.PAPER_OUT)  # the participant is still walking there
        await until(lambda: queue.scheduler.booths["booth-01"].faulty, "faulty at the queue")
        moved = queue.scheduler.tickets[called.ticket]
        assert moved.state.value == "waiting" and moved.moved
        assert not any(a["kind"] == "device_fault" for a in hub.desk.alerts)
    finally:
        await console.close()
        await stopped(agent.stop(), "the booth agent")
        printer.close()
        reader.close()
