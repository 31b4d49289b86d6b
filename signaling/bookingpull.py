"""The branch pulls its day's bookings from the head office (``GET /api/bookings?day=``),
every ``bookings_pull_s`` while a head office is configured, and imports them exactly as the
manual upload (``POST /api/queue/appointments``) does; that upload stays for a branch without
a head office. A booking already known and unchanged is left as it is; one the head office
changed after its participant checked in is refused alone, the others are imported."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

from signaling.headofficelink import LinkError
from signaling.queue import appointments as appts
from signaling.queue import events as ev
from signaling.queue.errors import ImportFailed, QueueError

if TYPE_CHECKING:
    from signaling.branchqueue import BranchQueue
    from signaling.headofficelink import HeadOfficeLink
    from signaling.server import BranchServer

log = logging.getLogger(__name__)


def local_day(now: float, utc_offset_min: int) -> str:
    """The branch's date of ``now``, ``YYYY-MM-DD``."""
    local = dt.datetime.fromtimestamp(now, dt.UTC) + dt.timedelta(minutes=utc_offset_min)
    return local.date().isoformat()


async def pull_once(server: BranchServer, queue: BranchQueue, link: HeadOfficeLink) -> int:
    """Import today's bookings from the head office; how many were new or changed."""
    day = local_day(server.clock(), queue.rules.utc_offset_min)
    bookings = await link.bookings(day)
    try:
        result = appts.parse(json.dumps(bookings).encode(), "json", branch=queue.branch,
                             services=queue.rules.services,
                             utc_offset_min=queue.rules.utc_offset_min)
    except ImportFailed as exc:
        log.error("bookings from the head office refused", extra={"fields": {
            "day": day, "rows": [list(r) for r in exc.rows[:10]]}})
        return 0
    known = {a.code: a.booking() for a in queue.scheduler.appointments.values()}
    fresh = [a.booking() for a in result.appointments if known.get(a.code) != a.booking()]
    if not fresh:
        return 0
    try:
        await queue.handle(ev.AppointmentsBooked(bookings=tuple(fresh)), actor="headoffice")
        return len(fresh)
    except QueueError:
        imported = 0
        for booking in fresh:  # one at a time: a refused one does not hold back the others
            try:
                await queue.handle(ev.AppointmentsBooked(bookings=(booking,)),
                                   actor="headoffice")
                imported += 1
            except QueueError as exc:
                log.warning("a booking from the head office was refused", extra={"fields": {
                    "code": booking.get("code"), "error": exc.detail}})
        return imported


class BookingPull:
    def __init__(self, server: BranchServer, queue: BranchQueue, link: HeadOfficeLink,
                 every_s: float) -> None:
        self.server, self.queue, self.link, self.every_s = server, queue, link, every_s
        self.last_imported = 0
        self._task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="booking-pull")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                self.last_imported = await pull_once(self.server, self.queue, self.link)
            except LinkError as exc:
                log.warning("bookings not pulled: head office not reached", extra={
                    "fields": {"error": str(exc)}})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bookings pull failed")
            await asyncio.sleep(self.every_s)
