"""The officer's desk: sign-in, decisions, rescans, transfers, parking, and the case records.

Everything the officer decides goes to the branch server, which records it; the hub
keeps only a copy for the console and rebuilds it from the server (``GET
/api/cases/hub``) whenever it (re)connects, so a restarted hub or a reloaded browser
loses nothing. Requests wait for the reply naming them (``ref``): ``Ok``, ``Verdict``
or ``Error``; an error becomes :class:`DeskError` with the server's words.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from bilik import tls
from officer import alerts, limits
from officer.checklists import OUTCOMES
from officer.errors import OfficerError
from signaling import protocol as p
from signaling.client import ClientError

if TYPE_CHECKING:
    from officer.hub import Hub
    from officer.peers import HubPeer

log = logging.getLogger(__name__)

DEVICE_FAULT = "device_fault"  # signaling.sessionfaults.ALERT_KIND
RECEIPT_NOT_PRINTED = "receipt_not_printed"  # signaling.receipts.ALERT_KIND


class DeskError(OfficerError):
    """The branch server refused or did not answer an officer's request."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def http_base(ws_url: str) -> str:
    """``ws://host:port/ws`` -> ``http://host:port`` (the branch server's HTTP side)."""
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme)
    if scheme is None:
        raise OfficerError(f"server URL must start ws:// or wss://, not {ws_url!r}")
    return urlunsplit((scheme, parts.netloc, "", "", ""))


class Desk:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.officer: str | None = None
        self.skills: list[str] = []  # the services the officer serves (empty: all)
        self.last_input: float | None = None  # monotonic: the officer's latest input
        self.signed_out_because = ""  # "idle" after an automatic sign-out
        self.cases: dict[str, dict[str, Any]] = {}  # booth -> case view from the server
        # booth -> a case this officer parked (the participant waits there), with its history
        self.parked: dict[str, dict[str, Any]] = {}
        self.alerts: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=limits.ALERTS_KEPT
        )
        self.queue: dict[str, Any] = {}
        self.verdicts: dict[str, dict[str, Any]] = {}  # booth -> last verdict
        self._replies: dict[str, asyncio.Future[p.Message]] = {}
        self._http: aiohttp.ClientSession | None = None
        self.base = http_base(hub.config.server)

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=10),
            connector=aiohttp.TCPConnector(ssl=tls.client_context(self.hub.config) or True))
        self.hub.spawn(self._poll_queue(), "hub-queue-poll")

    async def stop(self) -> None:
        for future in self._replies.values():
            future.cancel()
        self._replies.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- requests to the server -----------------------------------------------------------

    def reply(self, msg: p.Message) -> bool:
        """Resolve a waiting request with ``msg`` if it answers one."""
        future = self._replies.get(msg.ref or "")
        if future is None or future.done():
            return False
        future.set_result(msg)
        return True

    async def ask(self, msg: p.Message) -> p.Message:
        future: asyncio.Future[p.Message] = asyncio.get_running_loop().create_future()
        self._replies[msg.id] = future
        try:
            await self.hub.client.send(msg)
            reply = await asyncio.wait_for(future, limits.REQUEST_TIMEOUT_S)
        except ClientError as exc:
            raise DeskError("offline", f"the branch server is not reachable: {exc}") from None
        except TimeoutError:
            raise DeskError("timeout", f"no answer to {msg.TYPE} from the branch server") from None
        finally:
            self._replies.pop(msg.id, None)
        if isinstance(reply, p.Error):
            raise DeskError(reply.code, reply.detail)
        return reply

    def _headers(self) -> dict[str, str]:
        # An enrolled hub is known by its certificate and sends no token.
        return {"Authorization": f"Bearer {self.hub.token}"} if self.hub.token else {}

    async def _get_json(self, path: str, method: str = "GET") -> Any:
        if self._http is None:
            raise DeskError("offline", "the hub is not started")
        try:
            async with self._http.request(method, self.base + path,
                                          headers=self._headers()) as response:
                body = await response.json(content_type=None)
                if response.status >= 400:
                    detail = body.get("detail", "") if isinstance(body, dict) else ""
                    raise DeskError(f"http_{response.status}", detail)
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeskError("offline", f"{path}: {exc or type(exc).__name__}") from None

    async def load_documents(self, peer: HubPeer) -> None:
        """The documents the server holds for the booth's ticket (a case taken over from
        another hub, or this hub restarted): shown with those the booth announces."""
        if not peer.ticket:
            return
        try:
            body = await self._get_json(f"/api/documents?ticket={quote(peer.ticket)}")
        except DeskError as exc:
            log.info("documents of %s not listed: %s", peer.ticket, exc)
            return
        listed = body.get("documents") if isinstance(body, dict) else None
        for doc in listed if isinstance(listed, list) else []:
            if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                peer.documents.setdefault(doc["id"], {
                    "kind": str(doc.get("kind", "")), "status": str(doc.get("status", "")),
                    "reason": str(doc.get("reason", "")), "at": doc.get("at")})
        self.hub.changed.set()
        await self.load_readings(peer)

    async def load_readings(self, peer: HubPeer) -> None:
        """What the booth's OCR read from the claim's documents (NIK, name, the family
        card's rows) and the mismatches between them, for the console."""
        ticket = peer.ticket or f"pairing:{peer.pairing}"
        try:
            body = await self._get_json(f"/api/readings?ticket={quote(ticket)}")
        except DeskError as exc:
            log.info("readings of %s not listed: %s", ticket, exc)
            return
        if not isinstance(body, dict):
            return
        readings = body.get("readings")
        peer.readings = {
            r["document"]: {key: r.get(key) for key in ("nik", "name", "confidence",
                                                        "problems", "people")}
            for r in (readings if isinstance(readings, list) else [])
            if isinstance(r, dict) and isinstance(r.get("document"), str)}
        flags = body.get("flags")
        peer.reading_flags = [
            {"kind": str(f.get("kind", "")), "detail": str(f.get("detail", ""))}
            for f in (flags if isinstance(flags, list) else []) if isinstance(f, dict)]
        self.hub.changed.set()

    async def fetch_document(self, document: str) -> tuple[bytes, str]:
        """A document's bytes and content type from the server's document store."""
        if self._http is None:
            raise DeskError("offline", "the hub is not started")
        try:
            async with self._http.get(f"{self.base}/api/documents/{document}",
                                      headers=self._headers()) as response:
                if response.status >= 400:
                    raise DeskError(f"http_{response.status}", await response.text())
                data = await response.content.read(limits.DOCUMENT_MAX_BYTES + 1)
                if len(data) > limits.DOCUMENT_MAX_BYTES:
                    raise DeskError("too_large", f"document {document} is too large")
                return data, response.content_type
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeskError("offline", f"document {document}: {exc}") from None

    # -- the officer ----------------------------------------------------------------------

    async def sign_in(self, officer: str, pin: str) -> None:
        try:
            msg = p.OfficerSignIn(officer=officer, pin=pin)
            p.parse(p.encode(msg))  # the server's own validation, with its words
        except ValueError as exc:
            raise DeskError("bad_request", getattr(exc, "detail", str(exc))) from None
        await self.ask(msg)
        self.officer = officer
        self.signed_out_because = ""
        self.touch()
        try:
            await self._refresh()  # the officer's skills, which the hub announces
        except DeskError as exc:
            log.info("skills not read: %s", exc)
        self.hub.changed.set()
        self.hub.spawn(self.hub._announce(), "hub-capacity")
        log.info("officer signed in", extra={"fields": {"officer": officer}})

    def touch(self) -> None:
        """The officer did something at the console (an action, a key, the mouse)."""
        self.last_input = self.hub.monotonic()

    def idle_s(self) -> float | None:
        """Seconds since the officer's latest input, None while nobody is signed in."""
        if self.officer is None or self.last_input is None:
            return None
        return self.hub.monotonic() - self.last_input

    async def sign_out(self, because: str = "") -> None:
        await self._get_json("/api/cases/sign-out", method="POST")
        log.info("officer signed out", extra={"fields": {"officer": self.officer,
                                                         "because": because or "asked"}})
        self.officer = None
        self.skills = []
        self.signed_out_because = because
        self.hub.changed.set()
        if self.hub.focused is not None:
            await self.hub.focus(None)
        await self.hub.console_media.close()  # the officer's camera is theirs, not the hub's

    def _need_officer(self) -> str:
        if self.officer is None:
            raise DeskError("forbidden", "sign in first")
        return self.officer

    def _peer(self, booth: str) -> HubPeer:
        peer = self.hub.peer_of(booth)
        if peer is None:
            raise DeskError("not_found", f"booth {booth} is not on this hub")
        return peer

    async def decide(self, booth: str, outcome: str, note: str, checklist: list[str],
                     claim: dict[str, str] | None = None) -> p.Verdict:
        """Record the decision with the claim's key data (``nik``, ``name``, ``bank``,
        ``account``), which the server checks: a refusal says why in both languages."""
        self._need_officer()
        peer = self._peer(booth)
        if outcome not in OUTCOMES:
            raise DeskError("bad_request", f"outcome must be one of {', '.join(OUTCOMES)}")
        reply = await self.ask(p.Decision(booth=booth, ticket=peer.ticket or peer.pairing,
                                          outcome=outcome, note=note, checklist=checklist,
                                          claim=dict(claim or {})))
        if not isinstance(reply, p.Verdict):
            raise DeskError("bad_reply", f"expected a verdict, got {reply.TYPE}")
        self.verdicts[booth] = {"reference": reply.reference, "outcome": reply.outcome,
                                "next_steps": reply.next_steps}
        if peer.ticket:
            # The decision closes the case: the queue frees the officer's slot, and the booth,
            # once its receipt is printed and the participant has left, calls the next ticket.
            try:
                await self.ask(p.SessionEnd(booth=booth, outcome=outcome))
            except DeskError as exc:
                log.warning("session end not accepted", extra={"fields": {
                    "booth": booth, "code": exc.code, "detail": str(exc)}})
        await self._refresh()
        return reply

    async def rescan(self, booth: str, document: str, reason: str) -> None:
        self._need_officer()
        peer = self._peer(booth)
        if not reason.strip():
            raise DeskError("bad_request", "say why the document must be scanned again")
        doc = peer.documents.get(document, {})
        kind = str(doc.get("kind", ""))
        msg = p.DocRequest(peer=booth, pairing=peer.pairing, kinds=[kind] if kind else [],
                           rescan=document, reason=reason)
        try:
            await self.hub.client.send(msg)
        except ClientError as exc:
            raise DeskError("offline", str(exc)) from None
        peer.documents[document] = {**doc, "status": "rescan_requested", "reason": reason}
        self.hub.changed.set()

    async def transfer(self, booth: str, to_hub: str) -> None:
        self._need_officer()
        self._peer(booth)
        await self.ask(p.Transfer(booth=booth, to_hub=to_hub))
        await self._refresh()

    async def park(self, booth: str, resume: bool) -> None:
        """Park the booth's case (the participant waits there; the seat is freed), or resume
        a parked one (the booth comes back to a seat, with its history)."""
        self._need_officer()
        if resume and booth in self.parked:
            if self.hub.free_slots <= 0:
                raise DeskError("no_capacity", "no free seat: finish or park a case first")
            await self.ask(p.Park(booth=booth, resume=True))
            await self._refresh()
            return
        peer = self._peer(booth)
        if peer.parked == (not resume):
            return
        if not resume and self.hub.focused == booth:
            await self.hub.focus(None)
        await self.ask(p.Park(booth=booth, resume=resume))
        # A queue case leaves the seat (the server releases its call) and is listed in
        # ``parked``; one served outside the queue stays in its seat, marked.
        peer.parked = not resume
        await self._refresh()

    # -- what the server and booths tell us ------------------------------------------------

    def booth_message(self, peer: HubPeer, msg: p.Message) -> None:
        if isinstance(msg, p.Hand):
            peer.hand = {"raised": msg.raised, "reason": msg.reason, "at": self.hub.clock()}
        elif isinstance(msg, p.Seat):
            peer.seat(msg.occupied)
        elif isinstance(msg, p.DocUpdate):
            peer.documents[msg.document] = {"kind": msg.kind, "status": msg.status,
                                            "reason": msg.reason, "at": self.hub.clock()}
            # The booth posts what its OCR read before it announces the document.
            self.hub.spawn(self.load_readings(peer), "hub-readings")

    def server_message(self, msg: p.Message) -> None:
        if isinstance(msg, p.Alert):
            alert = {"kind": msg.kind, "subject": msg.subject, "detail": msg.detail,
                     "at": msg.at, "received": self.hub.clock(), "ticket": msg.ticket,
                     "reason": alerts.alert_reason(msg.detail)}
            self.alerts.append(alert)
            ticket = msg.ticket
            verdict = self.verdicts.get(msg.subject)
            if msg.kind == RECEIPT_NOT_PRINTED and verdict is not None:
                # The booth could not print the receipt of this officer's decision there.
                verdict["receipt"] = "not_printed"
                verdict["receipt_detail"] = msg.detail
            for peer in list(self.hub.peers.values()):
                if msg.kind == DEVICE_FAULT:
                    if peer.booth == msg.subject:
                        peer.device_fault = alert
                elif ticket and peer.ticket == ticket and not peer.focused:
                    peer.sla_alert = alert

    def ticket_paired(self, peer: HubPeer) -> None:
        """A new ticket at a booth: an alert that came before it was paired marks its tile."""
        peer.sla_alert = alerts.for_ticket(list(self.alerts), peer.ticket)

    async def restore(self) -> None:
        """Take the officer and every case back from the server's records."""
        try:
            await self._refresh()
        except DeskError as exc:
            log.info("cases not restored: %s", exc)

    async def _refresh(self) -> None:
        view = await self._get_json("/api/cases/hub")
        if not isinstance(view, dict):
            return
        officer = view.get("officer")
        skills = view.get("skills")
        self.skills = [s for s in skills if isinstance(s, str)] if isinstance(skills, list) else []
        if officer != self.officer:
            self.officer = officer if isinstance(officer, str) else None
            self.touch()  # a restored sign-in counts from the restart
            self.hub.spawn(self.hub._announce(), "hub-capacity")
        booths = view.get("booths")
        if isinstance(booths, dict):
            self.cases = booths
        parked = view.get("parked")
        self.parked = parked if isinstance(parked, dict) else {}
        self.hub.changed.set()

    async def _poll_queue(self) -> None:
        while True:
            try:
                health = await self._get_json("/healthz")
                if isinstance(health, dict):
                    self.queue = {"waiting": health.get("waiting"),
                                  "pairings": health.get("pairings")}
            except DeskError:
                self.queue = {}
            await asyncio.sleep(limits.QUEUE_POLL_S)
