"""A real branch for the hub's tests: server on an ephemeral port, hub, simulated booths."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import aiohttp
import pytest

from booth.replay import encode_loop
from officer.config import HubConfig
from officer.hub import Hub
from signaling import protocol as p
from signaling.branchqueue import QUEUE_KEY
from signaling.client import SignalingClient
from signaling.config import ServerConfig
from signaling.officers import add_officer
from signaling.queue import events as ev
from tests.helpers import ServerBranch, until
from tests.officer.simbooth import SimBooth

WAIT_S = 60.0
STOP_WAIT_S = 30.0
OFFICER = "siti"
PIN = "246810"


class Branch(ServerBranch):
    def __init__(self, data_dir: Path, loop_file: Path) -> None:
        super().__init__(data_dir, ServerConfig(data_dir=data_dir, resume_window_s=30.0,
                                                heartbeat_s=1.0))
        self.loop_file = loop_file
        self.hubs: list[Hub] = []
        self.booths: list[SimBooth] = []

    async def add_officer(self, officer: str = OFFICER, pin: str = PIN) -> None:
        db = self.branch.db
        await db.call(add_officer, db.sync, officer, pin, "", time.time(), "test")

    async def hub(self, device: str = "hub-01", **settings: object) -> Hub:
        # The hub's own tests read every booth's timecode (inspect_video) and, with no
        # console page, see the synthetic officer; tests of the console's media say otherwise.
        settings = {"synthetic_officer": True, "inspect_video": True, **settings}
        config = HubConfig(server=self.url, metrics_port=0, **settings)  # type: ignore[arg-type]
        hub = Hub(config, self.token(device, "hub"))
        self.hubs.append(hub)
        await hub.start()
        await hub.wait_connected(WAIT_S)
        return hub

    async def booth(self, device: str, *, receive: bool = True, queue: bool = False,
                    audio_levels: bool = True) -> SimBooth:
        booth = SimBooth(self.url, self.token(device, "booth"), replay=self.loop_file,
                         receive=receive, queue=queue, audio_levels=audio_levels)
        self.booths.append(booth)
        await booth.start()
        return booth

    async def book(self, code: str, slot_epoch: float, service: str = "jht") -> None:
        """Import one appointment through the server's admin API."""
        slot = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(slot_epoch))
        csv = f"code,service,slot,branch,name\n{code},{service},{slot},kc-01,Siti\n"
        admin = self.token("ops-1", "admin")
        async with aiohttp.ClientSession() as http, http.post(
            f"{self.http_base}/api/queue/appointments", data=csv.encode(),
            headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"},
        ) as reply:
            assert reply.status == 200, await reply.text()

    async def check_in(self, code: str) -> p.TicketInfo:
        """The participant checks in at a kiosk with their booking code."""
        kiosk = SignalingClient(self.url, self.token("kiosk-01", "kiosk"), software="test")
        await kiosk.start()
        try:
            await kiosk.wait_connected(WAIT_S)
            info = await kiosk.request(p.CheckIn(code=code))
        finally:
            await kiosk.close()
        assert isinstance(info, p.TicketInfo), info
        return info

    async def at_risk_not_attended(self, code: str, booth: SimBooth, hub: Hub) -> str:
        """A booking checked in, called to ``booth`` (a queue booth), claimed and paired
        with ``hub``; then nobody attends it until its SLA is near, and the queue says so
        (the server's clock is moved on rather than waiting five minutes). Its ticket."""
        await self.book(code, time.time() + 30)
        info = await self.check_in(code)
        await until(lambda: any(c.ticket == info.ticket for c in booth.called),
                    f"{code} called to the booth")
        await booth.claim(info.qr)
        await until(lambda: any(peer.ticket == info.ticket for peer in hub.peers.values()),
                    f"{code}'s ticket paired with the hub")
        assert self.server is not None
        queue = self.server.app[QUEUE_KEY]
        real_clock = self.branch.clock
        self.branch.clock = lambda: real_clock() + queue.rules.sla_late_s
        await queue.handle(ev.Tick(), actor="test")
        return info.ticket

    async def close(self) -> None:
        for number, booth in enumerate(self.booths, 1):
            await stopped(booth.stop(), f"simulated booth #{number}")
        for hub in self.hubs:
            await stopped(hub.stop(), "hub")


async def stopped(stop: Awaitable[None], what: str) -> None:
    """Await a part's ``stop()``; one that hangs fails the test with every task's stack,
    instead of a silent wait for the test runner's timeout."""
    try:
        await asyncio.wait_for(stop, STOP_WAIT_S)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        raise AssertionError(f"{what} did not stop within {STOP_WAIT_S} s; tasks:\n"
                             f"{stacks.getvalue()}") from None


@pytest.fixture(scope="session")
def loop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "loop.ivf"
    encode_loop(path)
    return path


@pytest.fixture
async def branch(tmp_path: Path, loop_file: Path) -> AsyncIterator[Branch]:
    b = Branch(tmp_path, loop_file)
    await b.start()
    try:
        yield b
    finally:
        await b.close()
        await b.stop()
