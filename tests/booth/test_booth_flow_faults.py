"""What goes wrong at a booth, end to end: the printer runs out of paper at the verdict, the
branch server restarts mid-session, the agent itself restarts mid-session."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bilik.catalogue import text
from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.state import BoothState
from booth.view import ScreenName
from hardware.emulators.printer import Fault, start_pty_emulator
from signaling import protocol as p
from signaling.config import ServerConfig
from signaling.officers import add_officer_offline
from signaling.store import DB_FILE
from tests.booth.hubpeer import HubPeer
from tests.helpers import ServerBranch, until

pytestmark = pytest.mark.slow
# What an approval records (signaling.claimdata): the participant's NIK, name and account.
CLAIM = {"nik": "3171234506780001", "name": "Siti Rahayu", "bank": "BRI", "account": "1234567890"}


class Branch(ServerBranch):
    def __init__(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "server"
        super().__init__(data_dir, ServerConfig(data_dir=data_dir, resume_window_s=60.0,
                                                heartbeat_s=1.0))

    def device(self, device: str) -> tuple[Any, ...]:
        with sqlite3.connect(self.data_dir / DB_FILE) as db:
            row = db.execute("SELECT state, health FROM devices WHERE id=?", (device,)).fetchone()
        return tuple(row) if row else ()


@pytest.fixture
async def branch(tmp_path: Path) -> AsyncIterator[Branch]:
    b = Branch(tmp_path)
    await b.start()
    add_officer_offline(b.data_dir, "o-01", "2468")
    try:
        yield b
    finally:
        await b.stop()


async def officer(branch: Branch) -> HubPeer:
    hub = HubPeer(branch.url, branch.token("hub-01", "hub"), f"http://127.0.0.1:{branch.port}")
    await hub.open()
    return hub


def booth(branch: Branch, tmp_path: Path, **settings: Any) -> BoothAgent:
    config = BoothConfig(server=branch.url, id="booth-01", flow="direct",
                         data_dir=tmp_path / "booth", goodbye_s=2.0, **settings)
    return BoothAgent(config, branch.token("booth-01", "booth"), health_every_s=0.5)


async def test_a_printer_out_of_paper_shows_the_reference_and_reports_the_fault(
    branch: Branch, tmp_path: Path,
) -> None:
    printer = start_pty_emulator(tmp_path / "printer")
    hub = await officer(branch)
    agent = booth(branch, tmp_path, printer=printer.address)
    try:
        await agent.start()
        await until(lambda: agent.booth.state is BoothState.IN_SESSION, "the session")
        printer.set_faults(Fault.PAPER_OUT)
        session = hub.pairings["booth-01"]  # a decision names its session's ticket (or pairing)
        await hub.send(p.Decision(booth="booth-01", ticket=session.ticket or session.pairing,
                                  outcome="approved", claim=CLAIM))
        verdict = await hub.expect(p.Verdict)
        await until(lambda: agent.booth.state is BoothState.RECEIPT, "the end of the visit")
        assert agent.booth.receipt_printed is False
        shown = ""

        def failure_on_screen() -> bool:
            nonlocal shown
            snap = agent.screen.last
            shown = " ".join(snap.drawn) if snap is not None else ""
            return text("booth.receipt_failed").en.split(".")[0] in shown

        await until(failure_on_screen, "the failed-receipt screen")
        assert verdict.reference in shown and "Disetujui" in shown and "Approved" in shown
        assert printer.jobs == []
        # The fault reached the server, so staff see it (and the queue stops sending people).
        await until(lambda: "paper" in branch.device("booth-01")[1], "the fault at the server")
        await until(lambda: agent.booth.state is BoothState.OUT_OF_SERVICE, "out of service")
        await until(lambda: agent.screen.last is not None
                    and agent.screen.last.view.screen is ScreenName.OUT_OF_SERVICE,
                    "the out-of-service screen")
        printer.set_faults()  # paper refilled: the periodic check brings the booth back
        await until(lambda: agent.booth.state is not BoothState.OUT_OF_SERVICE, "back in service")
        assert agent.health["printer"] == "ok"
    finally:
        await agent.stop()
        await hub.close()
        printer.close()


async def test_a_server_restart_mid_session_is_survived_in_place(
    branch: Branch, tmp_path: Path,
) -> None:
    hub = await officer(branch)
    agent = booth(branch, tmp_path)
    try:
        await agent.start()
        await until(lambda: agent.booth.state is BoothState.IN_SESSION, "the session")
        pairing = agent.booth.pairing
        await hub.send(p.DocRequest(peer="booth-01", pairing=pairing, kinds=["ktp", "kk"]))
        await until(lambda: agent.booth.state is BoothState.SCANNING, "scanning")
        await branch.stop()
        await until(lambda: agent.screen.last is not None
                    and agent.screen.last.view.screen is ScreenName.RECONNECTING,
                    "the reconnecting screen")
        snap = agent.screen.last
        assert snap is not None
        joined = " ".join(snap.drawn)
        assert text("booth.reconnecting").id in joined and text("booth.reconnecting").en in joined
        await branch.start()
        await until(lambda: agent.booth.online, "reconnected")
        assert agent.booth.state is BoothState.SCANNING and agent.booth.pairing == pairing
        assert [d.kind for d in agent.booth.documents] == ["ktp", "kk"]
        await until(lambda: agent.screen.last is not None
                    and agent.screen.last.view.screen is ScreenName.SCANNING, "scanning again")
    finally:
        await agent.stop()
        await hub.close()


async def test_a_restarted_agent_resumes_the_participants_session(
    branch: Branch, tmp_path: Path,
) -> None:
    hub = await officer(branch)
    first = booth(branch, tmp_path)
    await first.start()
    try:
        await until(lambda: first.booth.state is BoothState.IN_SESSION, "the session")
        await until(lambda: hub.booth_video_frames > 0, "the call up")
        pairing = first.booth.pairing
        await hub.send(p.DocRequest(peer="booth-01", pairing=pairing, kinds=["ktp"]))
        await until(lambda: first.booth.state is BoothState.SCANNING, "scanning")
    finally:
        await first.stop()
    second = booth(branch, tmp_path)
    try:
        await second.start()
        assert second.booth.state is BoothState.SCANNING  # from the state file, at once
        assert second.booth.document("ktp") is not None
        await until(lambda: second.booth.online, "reconnected")
        before = hub.booth_video_frames
        await until(lambda: hub.booth_video_frames > before + 5, "the call up again")
        assert second.booth.state is BoothState.SCANNING and second.booth.pairing == pairing
    finally:
        await second.stop()
        await hub.close()
