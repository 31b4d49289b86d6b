"""A booking's QR (or its typed code) read at a booth: checked in through the real server.

The real branch server with the queue and its bookings imported over its admin API, a
kiosk client, a hub, and the booth agent in the ticket flow reading codes from the serial
scanner emulator. Every refusal the kiosk gives (too early, another day, another branch,
already used) is shown on the booth screen in both languages and changes nothing; a
booking whose turn is here sits down at once; one whose turn is not here is told its
number, and the same booking code claims the booth when that number is called to it (at
another booth it is told which booth it was called to).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bilik.catalogue import Message, text
from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.state import BoothState
from booth.view import ScreenName
from hardware.emulators.scanner import ScannerEmulator
from signaling import protocol as p
from signaling.client import SignalingClient
from signaling.officers import add_officer_offline
from signaling.queue.rules import QueueRules
from tests.booth.branch import Kiosk
from tests.booth.hubpeer import HubPeer
from tests.helpers import ServerBranch, until

pytestmark = pytest.mark.slow


def noon_offset_min(now: float) -> int:
    """A branch time zone in which ``now`` is about noon: no booking here crosses midnight
    by accident, whenever the test runs."""
    seconds_of_day = now % 86400
    return round((12 * 3600 - seconds_of_day) / 60)


class Site(ServerBranch):
    def __init__(self, tmp_path: Path) -> None:
        self.now = time.time()
        super().__init__(tmp_path / "server",
                         queue_rules=QueueRules(utc_offset_min=noon_offset_min(self.now)))

    async def book(self, *rows: tuple[str, float, str]) -> None:
        """Import bookings ``(code, seconds from now, branch)`` as the head office sends them."""
        lines = ["code,service,slot,branch,name"]
        for code, in_s, branch in rows:
            slot = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(self.now + in_s))
            lines.append(f"{code},jht,{slot},{branch},Siti")
        async with aiohttp.ClientSession() as http, http.post(
            f"{self.http_base}/api/queue/appointments",
            data="\n".join(lines).encode(),
            headers={"Authorization": f"Bearer {self.token('ops-1', 'admin')}",
                     "Content-Type": "text/csv"},
        ) as reply:
            assert reply.status == 200, await reply.text()

    def hub(self) -> HubPeer:
        return HubPeer(self.url, self.token("hub-01", "hub"), self.http_base)

    def booth(self, tmp_path: Path, reader: str) -> BoothAgent:
        config = BoothConfig(server=self.url, id="booth-01", flow="ticket", reader=reader,
                             data_dir=tmp_path / "booth")
        return BoothAgent(config, self.token("booth-01", "booth"))


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    s = Site(tmp_path)
    await s.start()
    add_officer_offline(s.data_dir, "o-01", "2468")
    try:
        yield s
    finally:
        await s.stop()


def drawn(agent: BoothAgent) -> str:
    snap = agent.screen.last
    return " ".join(snap.drawn) if snap is not None else ""


async def shows(agent: BoothAgent, message: Message) -> None:
    """The welcome screen shows ``message`` in both languages, first, as its instruction."""
    await until(lambda: agent.view().lines[0] == message, f"the notice {message.key}")
    await until(lambda: message.id in drawn(agent) and message.en in drawn(agent),
                f"{message.key} drawn in both languages")
    assert agent.view().screen is ScreenName.WELCOME


async def test_a_booking_scanned_at_the_booth_is_refused_or_told_its_turn_then_claims_it(
    site: Site, tmp_path: Path,
) -> None:
    await site.book(("BK-1001", 120, "kc-01"), ("BK-5005", 60, "kc-01"),
                    ("BK-2002", 3 * 3600, "kc-01"), ("BK-3003", 86400, "kc-01"),
                    ("BK-4004", 120, "kc-99"))
    reader = ScannerEmulator()
    kiosk = Kiosk(site.url, site.token("kiosk-01", "kiosk"))
    hub = site.hub()
    agent = site.booth(tmp_path, reader.path)
    other = SignalingClient(site.url, site.token("booth-02", "booth"))
    try:
        await kiosk.client.start()
        await agent.start()
        await agent.wait_connected(60)
        # No officer yet: nothing can be called. BK-5005 checked in at the kiosk earlier.
        await kiosk.client.send(p.CheckIn(code="BK-5005"))
        await until(lambda: kiosk.tickets, "BK-5005 checked in at the kiosk")

        for code, key in (("BK-2002", "queue.booking_too_early"),
                          ("BK-3003", "queue.booking_other_day"),
                          ("BK-4004", "queue.booking_unknown"),  # booked at another branch
                          ("BK-5005", "queue.booking_used")):
            reader.scan(code)
            await shows(agent, text(key))
            assert agent.booth.state is BoothState.IDLE and agent.booth.ticket == ""

        # A booking in its window: checked in; not its turn here, so the number is told.
        reader.scan("BK-1001")
        await shows(agent, text("booth.checked_in", number="R002"))
        assert agent.face.tee is None  # nobody is claimed: the camera stays off

        # A second booth comes; the officer signs in (no free slot): each free booth calls
        # one of the two bookings.
        await other.start()
        await other.wait_connected(60)
        await hub.open(slots=0)
        await until(lambda: agent.inbound.called, "a booking called to booth-01")
        [(ticket, number)] = agent.inbound.called.items()
        codes = {"R001": "BK-5005", "R002": "BK-1001"}
        code = codes.pop(number)
        [elsewhere] = codes.values()
        # (Another code first: the same code read twice within 3 s counts as one scan.)
        reader.scan("BK-2002")
        await shows(agent, text("queue.booking_too_early"))
        reader.scan(elsewhere)  # called to the other booth: told which one
        await shows(agent, text("queue.wrong_booth", booth="Bilik 2"))
        reader.scan(code)  # the same booking code claims the booth it was called to
        await until(lambda: agent.booth.state is BoothState.WAITING, "seated, waiting")
        assert (agent.booth.ticket, agent.booth.number) == (ticket, number)
        await until(lambda: text("booth.claimed", number=number).id in drawn(agent),
                    "the waiting screen with the number")
    finally:
        await agent.stop()
        await hub.close()
        await other.close()
        await kiosk.client.close()
        reader.close()


async def test_a_booking_whose_turn_is_here_sits_down_at_once(
    site: Site, tmp_path: Path,
) -> None:
    await site.book(("BK-1001", 60, "kc-01"))
    reader = ScannerEmulator()
    hub = site.hub()
    agent = site.booth(tmp_path, reader.path)
    try:
        await agent.start()
        await agent.wait_connected(60)
        await hub.open(slots=0)
        reader.scan("BK-1001")
        await until(lambda: agent.booth.state is BoothState.WAITING, "seated at once")
        assert agent.booth.number == "R001" and agent.face.tee is not None
        await until(lambda: (snap := agent.screen.last) is not None
                    and snap.view.screen is ScreenName.WAITING, "the waiting screen")
    finally:
        await agent.stop()
        await hub.close()
        reader.close()
