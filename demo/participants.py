"""Simulated participants: they arrive, take a ticket, watch the calls, walk to their booth.

Each arrival asks the ticket kiosk's control endpoint for a ticket (the kiosk prints it on
its emulated printer). The calls come from the branch server exactly as the queue display
gets them: this module connects as a display device of its own
(:class:`~signaling.client.SignalingClient`) and hears every ``Called``. When their number
is called, the participant walks to the booth (a few seconds), chooses how steadily they
will hold their documents (:func:`~demo.branch.show_documents`) and scans the
ticket's QR on the booth's reader (the scanner emulator on the booth's pty). The visit is
served when the receipt comes out of the booth's printer emulator.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bilik.tasks import TaskSet
from demo import limits
from demo.branch import BoothKit, show_documents
from demo.progress import Progress, Visit
from signaling import protocol as p
from signaling.client import SignalingClient

log = logging.getLogger(__name__)


class Participants:
    def __init__(
        self,
        *,
        kiosk_url: str,
        ws_url: str,
        watch_token: str,
        ssl_context: ssl.SSLContext | None = None,
        booths: dict[str, BoothKit],
        corpus: Any,
        progress: Progress,
        rng: random.Random,
        rate_per_min: float,
        limit: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kiosk_url = kiosk_url
        self.booths = booths
        self.corpus = corpus
        self.progress = progress
        self.rng = rng
        self.rate_per_min = rate_per_min
        self.limit = limit
        self.clock = clock
        self.calls: dict[str, p.Called] = {}  # ticket id -> the latest call heard
        self.at_booth: dict[str, Visit] = {}  # booth -> the visit seated there
        self._receipts = {b: 0 for b in booths}  # booth -> jobs printed so far
        self._walking: set[str] = set()  # tickets on their way to a booth
        self._tasks = TaskSet()
        self.client = SignalingClient(ws_url, watch_token, on_message=self._on_message,
                                      software="bilik-demo", ssl_context=ssl_context)

    async def start(self) -> None:
        await self.client.start()

    async def close(self) -> None:
        await self._tasks.cancel_all()
        await self.client.close()

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.spawn(coro, name)

    # -- arrivals ---------------------------------------------------------------------------

    async def arrive(self, http: aiohttp.ClientSession) -> None:
        """Participants arrive at random (Poisson) at ``rate_per_min``; ``limit`` of them."""
        arrived = 0
        while not self.limit or arrived < self.limit:
            if await self.take_ticket(http):
                arrived += 1
            await asyncio.sleep(self.rng.expovariate(self.rate_per_min / 60.0))

    async def take_ticket(self, http: aiohttp.ClientSession) -> Visit | None:
        try:
            async with http.post(self.kiosk_url + "/ticket",
                                 json={"service": limits.SERVICE, "priority": "none"}) as reply:
                body = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("the kiosk did not answer: %s", exc)
            return None
        if not isinstance(body, dict) or not body.get("issued"):
            self.progress.refused_tickets += 1
            log.warning("no ticket: %s", body)
            return None
        visit = Visit(ticket=str(body["ticket"]), number=str(body["number"]),
                      qr=str(body["qr"]), taken_at=self.clock(),
                      blurry=self.rng.random() < limits.BLURRY_SHARE)
        self.progress.ticket_taken(visit)
        log.info("ticket taken", extra={"fields": {"number": visit.number,
                                                    "outcome": body.get("outcome")}})
        call = self.calls.get(visit.ticket)
        if call is not None:  # called before the kiosk's answer reached us
            self._called(visit, call)
        return visit

    # -- calls ----------------------------------------------------------------------------

    async def _on_message(self, msg: p.Message) -> None:
        if not isinstance(msg, p.Called):
            return
        self.calls[msg.ticket] = msg
        visit = self.progress.visits.get(msg.ticket)
        if visit is not None:
            self._called(visit, msg)

    def _called(self, visit: Visit, call: p.Called) -> None:
        if visit.served_at is not None or visit.ticket in self._walking:
            return
        kit = self.booths.get(call.booth)
        if kit is None:
            log.warning("%s called to a booth the demo does not know: %s", visit.number,
                        call.booth)
            return
        if visit.called_at is None:
            visit.called_at = self.clock()
        # A call heard again (a recall, or moved to another booth) sends them (back) there.
        visit.booth = call.booth
        self._walking.add(visit.ticket)
        self._spawn(self._walk(visit, kit), f"demo-walk-{visit.number}")

    async def _walk(self, visit: Visit, kit: BoothKit) -> None:
        try:
            await asyncio.sleep(self.rng.uniform(*limits.WALK_S))
            show_documents(kit, self.corpus, blurry=visit.blurry)
            self.at_booth[kit.id] = visit
            kit.scanner.scan(visit.qr)
            visit.claimed_at = self.clock()
            log.info("ticket scanned at the booth",
                     extra={"fields": {"number": visit.number, "booth": kit.id,
                                       "blurry": visit.blurry}})
        finally:
            self._walking.discard(visit.ticket)

    # -- receipts ---------------------------------------------------------------------------

    def collect_receipts(self) -> None:
        """A new page from a booth's printer is the receipt of the visit seated there."""
        for booth, kit in self.booths.items():
            jobs = kit.printer.jobs
            for job in jobs[self._receipts[booth]:]:
                visit = self.at_booth.pop(booth, None)
                if visit is None:
                    log.warning("%s printed a page nobody waited for", booth)
                    continue
                visit.served_at = self.clock()
                visit.reference = _reference(job.text)
                log.info("receipt printed", extra={"fields": {
                    "number": visit.number, "booth": booth, "reference": visit.reference,
                    "png": str(job.png)}})
            self._receipts[booth] = len(jobs)


def _reference(text: str) -> str:
    """The decision's reference on a receipt (``KLM-20250101-1A2B3C4D``), else ``""``."""
    for word in text.replace(":", " ").split():
        if word.count("-") == 2 and word.split("-")[1].isdigit():
            return word
    return ""
