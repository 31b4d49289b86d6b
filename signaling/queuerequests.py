"""The queue feature's device requests: each message a kiosk, booth or hub sends the queue,
turned into a queue event and answered once the event is stored (``ok``, a ticket, or the
queue's refusal as an error). The base of :class:`signaling.branchqueue.BranchQueue`."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from signaling import protocol as p
from signaling.connection import Connection
from signaling.errors import ProtocolError
from signaling.protocol import ErrorCode, Role
from signaling.queue import Scheduler
from signaling.queue import decisions as de
from signaling.queue import events as ev
from signaling.queue.errors import QueueError
from signaling.queue.rules import QueueRules
from signaling.queuemapping import priority
from signaling.server import BranchServer

# (device to answer, builds the answer from the event's decisions)
Reply = tuple[str, Callable[[list[de.Decision]], p.Message | None]]


class QueueRequests:
    """The message handlers of the queue; the queue (its subclass) sets these up."""

    server: BranchServer
    rules: QueueRules
    scheduler: Scheduler
    hub_slots: dict[str, int]

    async def handle(self, event: ev.Event, *, actor: str, reply: Reply | None = None
                     ) -> list[de.Decision]:
        raise NotImplementedError

    def _outside(self, hub: str) -> int:
        raise NotImplementedError

    # -- message handlers ----------------------------------------------------------------------

    async def on_ticket_request(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.TicketRequest)
        chosen = priority(msg.priority)

        def answer(decisions: list[de.Decision]) -> p.Message | None:
            for d in decisions:
                if isinstance(d, de.TicketIssuedDecision):
                    return p.TicketInfo(
                        ref=msg.id, ticket=d.ticket, number=d.number, service=d.service,
                        qr=d.qr, ahead=d.ahead, expected_wait_s=d.expected_wait_s)
            return None

        await self._request(conn, msg, ev.TicketIssued(
            service=msg.service, priority=chosen, token=secrets.token_urlsafe(12)),
            answer=answer)

    async def on_check_in(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.CheckIn)
        booth = conn.device_id if conn.role is Role.BOOTH else None

        def answer(decisions: list[de.Decision]) -> p.Message | None:
            for d in decisions:
                if isinstance(d, de.CheckedIn):
                    ahead = sum(1 for t in self.scheduler.waiting() if t.id != d.ticket)
                    return p.TicketInfo(
                        ref=msg.id, ticket=d.ticket, number=d.number, service=d.service,
                        qr=d.qr, ahead=ahead, expected_wait_s=d.expected_wait_s, slot=d.slot)
            # No ticket issued and no refusal: a booking checked in earlier, scanned at the
            # booth its ticket is called to, has claimed it (Scheduler._booking_at_booth).
            return p.Ok(ref=msg.id)

        await self._request(conn, msg, ev.AppointmentCheckedIn(
            code=msg.code, token=secrets.token_urlsafe(12), booth=booth), answer=answer)

    async def on_claim(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Claim)
        await self._request(conn, msg, ev.TicketClaimed(booth=conn.device_id, qr=msg.qr),
                            reply_ok=True)

    async def on_booth_ready(self, conn: Connection, msg: p.Message) -> None:
        await self._request(conn, msg, ev.BoothFree(booth=conn.device_id), reply_ok=True)

    async def on_capacity(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Capacity)
        hub = conn.device_id
        self.server.book.set_capacity(hub, msg.slots)
        self.hub_slots[hub] = msg.slots
        skills = tuple(msg.skills) or tuple(self.rules.services)
        known = self.scheduler.hubs.get(hub)
        capacity = max(0, msg.slots - self._outside(hub))
        if known is None or not known.online or list(known.skills) != list(skills) \
                or known.officer != msg.officer:
            event: ev.Event = ev.HubOnline(hub=hub, skills=skills, capacity=capacity,
                                           officer=msg.officer)
        else:
            event = ev.HubCapacity(hub=hub, capacity=capacity)
        await self._request(conn, msg, event, reply_ok=True)
        await self.server.pair_waiting()

    async def on_focus(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Focus)
        outside = self.server.book.of_booth(msg.booth) if msg.booth else None
        if outside is not None and outside.hub == conn.device_id and not outside.ticket:
            # A booth served outside the queue (a direct service request): nothing to record.
            await self.server.send_to(conn.device_id, p.Ok(ref=msg.id))
            return
        await self._request(conn, msg, ev.OfficerFocus(hub=conn.device_id, booth=msg.booth or None),
                            reply_ok=True)

    def _check_serves(self, conn: Connection, booth: str) -> None:
        booth_state = self.scheduler.booths.get(booth)
        if booth_state is None or booth_state.hub != conn.device_id:
            raise ProtocolError(ErrorCode.NOT_PAIRED,
                                f"{conn.device_id} is not serving booth {booth}")

    async def on_session_end(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.SessionEnd)
        self._check_serves(conn, msg.booth)
        await self._request(conn, msg, ev.SessionEnded(booth=msg.booth, outcome=msg.outcome),
                            reply_ok=True)

    async def on_transfer(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Transfer)
        self._check_serves(conn, msg.booth)
        await self._request(conn, msg, ev.Transfer(booth=msg.booth, to_hub=msg.to_hub or None),
                            reply_ok=True)

    async def on_park(self, conn: Connection, msg: p.Message) -> None:
        assert isinstance(msg, p.Park)
        booth = self.scheduler.booths.get(msg.booth)
        if msg.resume:
            if booth is None or not booth.held:
                raise ProtocolError(ErrorCode.NOT_PAIRED, f"booth {msg.booth} is not parked")
            ticket = self.scheduler.tickets.get(booth.ticket or "")
            parked_by = ticket.hub if ticket is not None else None
            # The case is the parking officer's: another hub may take it over only once that
            # hub is gone (else a parked participant would wait for nobody).
            if parked_by not in (None, conn.device_id) and parked_by in self.server.connections:
                raise ProtocolError(ErrorCode.FORBIDDEN,
                                    f"booth {msg.booth} was parked by {parked_by}, not by "
                                    f"{conn.device_id}")
            own = self.scheduler.hubs.get(conn.device_id)
            if own is not None and not own.has_room():
                # Resumed here or nowhere: not handed to another officer behind one's back.
                raise ProtocolError(ErrorCode.NO_CAPACITY,
                                    f"no free seat at {conn.device_id} to resume "
                                    f"{msg.booth}: finish or park another case first")
            event: ev.Event = ev.Resume(booth=msg.booth, hub=conn.device_id)
        else:
            self._check_serves(conn, msg.booth)
            event = ev.Park(booth=msg.booth)
        await self._request(conn, msg, event, reply_ok=True)

    async def _request(
        self, conn: Connection, msg: p.Message, event: ev.Event, *, reply_ok: bool = False,
        answer: Callable[[list[de.Decision]], p.Message | None] | None = None,
    ) -> None:
        """Handle a device's request: Ok (or ``answer``) once stored, Error if refused."""
        if answer is None:
            answer = (lambda _d: p.Ok(ref=msg.id)) if reply_ok else (lambda _d: None)
        try:
            await self.handle(event, actor=conn.device_id, reply=(conn.device_id, answer))
        except QueueError as exc:
            await self.server.send_to(conn.device_id, p.Error(
                ref=msg.id, code=exc.code, detail=exc.detail, text_key=exc.key or "",
                values=exc.values() if exc.key else {}))
