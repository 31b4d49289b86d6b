"""A participant's whole visit: a real server with the queue, a real hub peer, the booth agent
with emulated reader, printer and document camera, and synthetic media.

ticket refused, then claimed -> waiting (no officer yet) -> in session (the call both ways)
-> raised hand -> documents asked: a blurry card refused at the booth, then a sharp one
captured, uploaded, downloaded and accepted by the officer -> verdict -> receipt printed and
read back from the printer emulator's PNG -> goodbye -> idle, booth free again.
Every screen on the way is checked by its text, in both languages.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestServer

from bilik.catalogue import text
from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.screen import BANNER_H, OFFICER_H, OFFICER_W
from booth.state import BoothState, DocStatus
from booth.view import ScreenName
from hardware.camera import SyntheticSource
from hardware.emulators.printer import start_pty_emulator
from hardware.emulators.scanner import ScannerEmulator
from hardware.qr import decode
from signaling import protocol as p
from signaling import tokens
from signaling.app import make_app
from signaling.config import ServerConfig
from signaling.officers import add_officer_offline
from tests.booth.branch import Kiosk
from tests.booth.hubpeer import OFFICER_BGR, HubPeer
from tests.helpers import until

pytestmark = pytest.mark.slow

DATA = Path(__file__).parents[1] / "data" / "quality"
# What an approval records (signaling.claimdata): the participant's NIK, name and account.
CLAIM = {"nik": "3171234506780001", "name": "Siti Rahayu", "bank": "BRI", "account": "1234567890"}


def load(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def texts(agent: BoothAgent) -> str:
    snap = agent.screen.last
    assert snap is not None
    return " ".join(snap.drawn)


async def on_screen(agent: BoothAgent, screen: ScreenName, *keys: str) -> str:
    """Wait until the screen shows ``screen`` with each catalogue message in both languages."""
    def shown() -> bool:
        snap = agent.screen.last
        if snap is None or snap.view.screen is not screen:
            return False
        joined = " ".join(snap.drawn)
        return all(text(k).id in joined and text(k).en in joined for k in keys)

    await until(shown, f"screen {screen} with {keys}")
    return texts(agent)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    config = ServerConfig(data_dir=tmp_path / "server", resume_window_s=30.0, heartbeat_s=1.0)
    srv = TestServer(make_app(config), host="127.0.0.1", port=0)
    await srv.start_server()
    try:
        yield srv
    finally:
        await srv.close()


async def test_a_whole_visit_from_ticket_to_receipt(server: TestServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "server"
    secret = tokens.load_or_create_secret(data_dir)
    now = time.time()

    def token(device: str, role: str) -> str:
        return tokens.issue(secret, device, role, now=now, ttl_s=3600)

    add_officer_offline(data_dir, "o-01", "2468")
    url = f"ws://127.0.0.1:{server.port}/ws"
    printer = start_pty_emulator(tmp_path / "printer")
    reader = ScannerEmulator()
    card: dict[str, np.ndarray] = {"image": load(DATA / "blurred_00.jpg")}
    kiosk = Kiosk(url, token("kiosk-01", "kiosk"))
    hub = HubPeer(url, token("hub-01", "hub"), f"http://127.0.0.1:{server.port}")
    config = BoothConfig(server=url, id="booth-01", flow="ticket", printer=printer.address,
                         reader=reader.path, data_dir=tmp_path / "booth", goodbye_s=3.0)
    agent = BoothAgent(
        config, token("booth-01", "booth"),
        document_camera=lambda: SyntheticSource(lambda t: card["image"], 10.0,
                                                name="document-camera"),
        scan_frames=3,
    )
    try:
        await kiosk.client.start()
        await agent.start()
        await agent.wait_connected(60)
        assert agent.health == {"camera": "ok", "printer": "ok", "reader": "ok",
                                "document_camera": "ok"}
        assert agent.face.tee is None  # privacy: the camera is off while nobody is there
        await on_screen(agent, ScreenName.WELCOME, "booth.welcome")

        # The officer signs in; the ticket is called to this booth.
        await hub.open()
        await kiosk.client.send(p.TicketRequest(service="jht"))
        await until(lambda: kiosk.tickets, "a ticket from the kiosk")
        ticket = kiosk.tickets[0]
        await until(lambda: ticket.ticket in agent.inbound.called, "the ticket called to booth-01")

        # A code that is no ticket: a clear message, and nothing changes.
        reader.scan("BILIK1:T:kc-01:forged")
        await until(lambda: agent.booth.notice != "", "the refusal")
        why = agent.view().lines[0]
        assert why.key in ("queue.qr_invalid", "queue.ticket_unknown", "booth.claim_refused")
        await until(lambda: why.id in texts(agent) and why.en in texts(agent),
                    "the refusal on screen in both languages")
        assert agent.booth.state is BoothState.IDLE and agent.booth.ticket == ""

        # The ticket: claimed while the officer has no free slot: the booth waits, honestly.
        await hub.request(p.Capacity(slots=0, officer="o-01"))
        reader.scan(ticket.qr)
        await on_screen(agent, ScreenName.WAITING, "booth.waiting")
        assert agent.booth.ticket == ticket.ticket and agent.face.tee is not None

        # The officer is free: the call goes both ways.
        await hub.request(p.Capacity(slots=6, officer="o-01"))
        await until(lambda: agent.booth.state is BoothState.IN_SESSION, "the session")
        pair = hub.pairings["booth-01"]
        assert pair.ticket == ticket.ticket
        await until(lambda: hub.booth_video_frames >= 10, "the booth's video at the hub")
        await until(lambda: agent.incoming.video_frames >= 10, "the officer's video at the booth")
        await until(lambda: hub.booth_audio_frames >= 10, "the booth's microphone at the hub")
        busy = await on_screen(agent, ScreenName.OFFICER_BUSY, "booth.officer_busy")
        assert "Petugas sedang melayani peserta lain - mohon tunggu" in busy
        await hub.send(p.Attention(peer="booth-01", pairing=pair.pairing, focused=True))
        await on_screen(agent, ScreenName.IN_SESSION, "booth.in_session")
        snap = agent.screen.last
        assert snap is not None
        centre = snap.image[BANNER_H + 24 + OFFICER_H // 2, 40 + OFFICER_W // 2].astype(int)
        assert np.abs(centre - np.array(OFFICER_BGR)).max() < 40  # the officer, large
        await hub.send(p.Attention(peer="booth-01", pairing=pair.pairing, focused=False))
        await on_screen(agent, ScreenName.OFFICER_BUSY)

        # Raise hand.
        agent.press()
        hand = await hub.expect(p.Hand)
        assert hand.raised and hand.peer == "booth-01"
        await on_screen(agent, ScreenName.OFFICER_BUSY, "booth.hand_raised")

        # Documents: a blurry card is refused at the booth, with the gate's guidance.
        await hub.send(p.DocRequest(peer="booth-01", pairing=pair.pairing, kinds=["ktp"]))
        await on_screen(agent, ScreenName.SCANNING, "quality.blurry")
        docs = agent.documents
        assert docs.scan is not None
        await until(lambda: docs.scan is not None and docs.scan.frames_judged >= 8,
                    "several blurry frames judged")
        assert docs.scan is not None and docs.scan.rejections.get("blurry", 0) >= 8
        assert agent.booth.document("ktp").status is DocStatus.REQUESTED
        card["image"] = load(DATA / "sharp_00.jpg")  # the participant holds it still
        uploaded = await hub.expect(p.DocUpdate, lambda m: m.status == "uploaded")
        assert uploaded.kind == "ktp" and uploaded.peer == "booth-01"
        status, jpeg = await hub.download(uploaded.document)
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert status == 200 and picture is not None
        # The card straightened at the camera's own resolution (ID-1 proportions), finer
        # than the 5.3 px/mm it was judged at.
        assert picture.shape[1] / picture.shape[0] == pytest.approx(85.6 / 53.98, rel=0.01)
        assert picture.shape[1] > 85.6 * 5.33
        # What OCR read is stored with it for the officer: this corpus card's NIK is 16
        # random digits, so the booth asked for it again, then sent it with the reason.
        status, read = await hub.readings(ticket.ticket)
        assert status == 200 and [r["kind"] for r in read["readings"]] == ["ktp"]
        assert read["readings"][0]["document"] == uploaded.document
        assert len(read["readings"][0]["nik"]) == 16
        assert read["readings"][0]["problems"][0].startswith("nik_invalid")
        await until(lambda: agent.booth.state is BoothState.IN_SESSION, "back in session")
        assert list((tmp_path / "booth" / "spool").iterdir()) == []  # deleted once confirmed
        await hub.send(p.DocUpdate(peer="booth-01", pairing=pair.pairing,
                                   document=uploaded.document, kind="ktp", status="accepted"))
        await until(lambda: agent.booth.document("ktp") is not None
                    and agent.booth.document("ktp").status is DocStatus.ACCEPTED,
                    "the document accepted")

        # The verdict, and the receipt read back from the printer.
        await hub.send(p.Decision(booth="booth-01", ticket=ticket.ticket, outcome="approved",
                                  checklist=["ktp"], claim=CLAIM))
        answered = await hub.expect(p.Verdict)
        await until(lambda: agent.booth.state is BoothState.RECEIPT, "the receipt")
        reference = agent.booth.verdict.reference
        assert reference == answered.reference
        goodbye = await on_screen(agent, ScreenName.GOODBYE, "booth.receipt_taken")
        assert reference in goodbye and "Disetujui" in goodbye and "Approved" in goodbye
        (job,) = printer.wait_for_jobs(1, timeout=30)
        receipt = cv2.imread(str(job.png))
        codes = [c.data for c in decode(receipt)]
        assert codes == [reference]
        assert reference in job.text and "Disetujui / Approved" in job.text

        await hub.request(p.SessionEnd(booth="booth-01", outcome="approved"))
        await on_screen(agent, ScreenName.WELCOME, "booth.welcome")
        await until(lambda: agent.face.tee is None, "the camera off again")
        assert agent.booth.ticket == "" and agent.booth.documents == ()
        assert [t[2] for t in agent.transitions] == [
            "claimed", "waiting", "in_session", "scanning", "in_session", "verdict", "receipt",
            "idle"] or [t[2] for t in agent.transitions][-4:] == [
            "in_session", "verdict", "receipt", "idle"]
    finally:
        await agent.stop()
        await hub.close()
        await kiosk.client.close()
        printer.close()
        reader.close()
