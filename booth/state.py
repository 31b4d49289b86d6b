"""The booth's flow as a pure state machine: ``transition(booth, event) -> (booth, effects)``.

    idle -> claimed -> waiting -> in session <-> scanning -> verdict -> receipt -> idle
                                         (any) -> out of service -> idle

:class:`Booth` is the whole state (frozen; a transition returns a new one) and events
are small frozen dataclasses. Nothing here touches a socket, a camera, a printer or a
clock: time comes in with the events that need it, and what must happen in the world
comes out as effects (report the state, turn the camera on, print the receipt...),
which the agent (:mod:`booth.agent`) carries out. Two conditions are not flow states,
because the flow goes on under them: the connection to the server (``online``) and
whether the participant is in the seat (``present``); the screen shows them on top.

An event that does not fit the state changes nothing and returns no effect (for
example a verdict for another ticket, or a claim while a session runs): the booth
never loses the participant's progress to a stray message.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any


class BoothState(enum.StrEnum):
    IDLE = "idle"  # nobody: welcome screen, camera off
    CLAIMED = "claimed"  # a ticket was accepted; the server is finding an officer
    WAITING = "waiting"  # seated, waiting for an officer (honest expected wait)
    IN_SESSION = "in_session"  # paired with an officer's hub
    SCANNING = "scanning"  # self-service: documents being scanned (officer may serve others)
    VERDICT = "verdict"  # the decision came; the receipt is printing
    RECEIPT = "receipt"  # goodbye: receipt printed (or shown on screen if printing failed)
    OUT_OF_SERVICE = "out_of_service"  # a device failed its self-test or went away


class DocStatus(enum.StrEnum):
    REQUESTED = "requested"  # asked for, not scanned yet
    UPLOADING = "uploading"  # captured at the booth, on its way to the server
    UPLOADED = "uploaded"  # the server has it (checksum confirmed)
    ACCEPTED = "accepted"  # the officer accepted it
    RESCAN = "rescan"  # the officer asks for it again (with a reason)
    REJECTED = "rejected"


# Documents still to be scanned by the participant.
TO_SCAN = frozenset({DocStatus.REQUESTED, DocStatus.RESCAN})
SESSION_STATES = frozenset({BoothState.IN_SESSION, BoothState.SCANNING})
SEATED_STATES = frozenset(
    {BoothState.CLAIMED, BoothState.WAITING, BoothState.IN_SESSION, BoothState.SCANNING}
)


@dataclass(frozen=True)
class Document:
    kind: str
    status: DocStatus = DocStatus.REQUESTED
    document: str = ""  # the server's id once uploaded
    reason: str = ""  # why a rescan was asked (the officer's words or a catalogue key)


@dataclass(frozen=True)
class Outcome:
    reference: str
    outcome: str
    next_steps: str = ""


@dataclass(frozen=True)
class Booth:
    state: BoothState = BoothState.IDLE
    ticket: str = ""
    number: str = ""
    pairing: str = ""
    hub: str = ""
    focused: bool = False  # the officer is attending this booth now
    expected_wait_s: float = 0.0
    position: int = 0
    documents: tuple[Document, ...] = ()
    verdict: Outcome | None = None
    receipt_printed: bool | None = None  # None until the printer answered
    notice: str = ""  # catalogue key of a one-off message (claim refused...), cleared on change
    notice_values: tuple[tuple[str, str], ...] = ()
    notice_at: float = 0.0  # when the notice came: the screen drops it after a while
    hand_raised: bool = False
    online: bool = False
    present: bool = True
    faults: tuple[str, ...] = ()  # devices that failed: out of service while any is listed
    parked: bool = False  # waiting because the officer parked the case (comes back to it)
    since: float = 0.0  # when the current state was entered (the clock of the event)

    # -- views ------------------------------------------------------------------------------

    @property
    def scanning_kind(self) -> str | None:
        """The document to scan now (one instruction at a time): the first still to scan."""
        for doc in self.documents:
            if doc.status in TO_SCAN:
                return doc.kind
        return None

    def document(self, kind: str) -> Document | None:
        for doc in self.documents:
            if doc.kind == kind:
                return doc
        return None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["state"] = self.state.value
        data["documents"] = [
            {**dataclasses.asdict(d), "status": d.status.value} for d in self.documents
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Booth:
        """Rebuild from :meth:`to_json`; raises ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("booth state must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown booth state field(s): {', '.join(unknown)}")
        values = dict(data)
        try:
            values["state"] = BoothState(values.get("state", BoothState.IDLE.value))
            values["documents"] = tuple(
                Document(d["kind"], DocStatus(d["status"]), d.get("document", ""),
                         d.get("reason", ""))
                for d in values.get("documents", ())
            )
            verdict = values.get("verdict")
            values["verdict"] = None if verdict is None else Outcome(**verdict)
            values["faults"] = tuple(values.get("faults", ()))
            values["notice_values"] = tuple(
                (str(k), str(v)) for k, v in values.get("notice_values", ())
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"booth state is malformed: {exc}") from None
        return cls(**values)


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    at: float = 0.0  # the clock when it happened


@dataclass(frozen=True)
class Connected(Event):
    pass


@dataclass(frozen=True)
class Disconnected(Event):
    pass


@dataclass(frozen=True)
class ServiceAsked(Event):
    """Direct mode (no queue): the booth asked for any officer on its own."""


@dataclass(frozen=True)
class Claimed(Event):
    ticket: str = ""
    number: str = ""


@dataclass(frozen=True)
class ClaimRefused(Event):
    text_key: str = ""
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CheckedIn(Event):
    """A booking was checked in at this booth, but its turn is not here and now: the
    participant is told their number and to scan the booking again where it is called."""

    number: str = ""


@dataclass(frozen=True)
class Waiting(Event):
    ticket: str = ""
    expected_wait_s: float = 0.0
    position: int = 0
    number: str = ""  # the ticket's number, when the booth knows it (from Called)


@dataclass(frozen=True)
class Paired(Event):
    pairing: str = ""
    hub: str = ""
    ticket: str = ""
    number: str = ""


@dataclass(frozen=True)
class Released(Event):
    pairing: str = ""
    parked: bool = False  # the officer parked the case: they come back to this participant


@dataclass(frozen=True)
class Attention(Event):
    focused: bool = False


@dataclass(frozen=True)
class DocsRequested(Event):
    kinds: tuple[str, ...] = ()
    rescan: str = ""  # a document id (or kind) to scan again
    reason: str = ""


@dataclass(frozen=True)
class DocCaptured(Event):
    kind: str = ""


@dataclass(frozen=True)
class DocUpdated(Event):
    kind: str = ""
    document: str = ""
    status: str = ""
    reason: str = ""


@dataclass(frozen=True)
class HandToggled(Event):
    reason: str = "ready"


@dataclass(frozen=True)
class VerdictGiven(Event):
    ticket: str = ""
    reference: str = ""
    outcome: str = ""
    next_steps: str = ""


@dataclass(frozen=True)
class ReceiptDone(Event):
    printed: bool = True
    detail: str = ""


@dataclass(frozen=True)
class GoodbyeOver(Event):
    pass


@dataclass(frozen=True)
class PresenceChanged(Event):
    present: bool = True


@dataclass(frozen=True)
class DeviceFailed(Event):
    device: str = ""


@dataclass(frozen=True)
class DeviceRecovered(Event):
    device: str = ""


# --- effects --------------------------------------------------------------------------------


class Effect(enum.StrEnum):
    REPORT = "report"  # Status(state, health) to the server; persist the state
    CAMERA_ON = "camera_on"
    CAMERA_OFF = "camera_off"
    START_SCAN = "start_scan"  # start the document camera and the quality gate
    STOP_SCAN = "stop_scan"
    SEND_HAND = "send_hand"  # relay Hand(raised, reason) to the hub
    SEND_SEAT = "send_seat"  # tell the paired hub whether the seat is occupied (Seat)
    PRINT_RECEIPT = "print_receipt"
    START_GOODBYE = "start_goodbye"  # timer: GoodbyeOver after GOODBYE_S
    BOOTH_READY = "booth_ready"  # tell the server the booth is empty again
    CLEAR_LOCAL_DOCS = "clear_local_docs"  # delete anything left of the participant's scans
    REPORT_AWAY = "report_away"  # the participant left the seat (the "unreachable" complaint)
    REQUEST_SERVICE = "request_service"  # direct mode: ask for an officer again


Effects = tuple[Effect, ...]


def _enter(booth: Booth, state: BoothState, at: float, **changes: Any) -> Booth:
    return dataclasses.replace(booth, state=state, since=at, notice="", notice_values=(),
                               **changes)


def _idle(booth: Booth, at: float) -> Booth:
    """Back to an empty booth; only the conditions (online, faults) carry over."""
    return Booth(state=BoothState.IDLE, online=booth.online, faults=booth.faults, since=at)


def _paired(booth: Booth) -> bool:
    return booth.state in SESSION_STATES and bool(booth.hub and booth.pairing)


def _with_doc(booth: Booth, doc: Document) -> tuple[Document, ...]:
    out = [d for d in booth.documents if d.kind != doc.kind]
    for i, d in enumerate(booth.documents):
        if d.kind == doc.kind:
            out.insert(i, doc)
            return tuple(out)
    return (*booth.documents, doc)


def _after_docs(booth: Booth, at: float) -> tuple[Booth, Effects]:
    """Scanning ends when nothing is left to scan; back to the session."""
    if booth.state is BoothState.SCANNING and booth.scanning_kind is None:
        return _enter(booth, BoothState.IN_SESSION, at), (Effect.STOP_SCAN, Effect.REPORT)
    return booth, (Effect.REPORT,)


def transition(booth: Booth, event: Event) -> tuple[Booth, Effects]:
    """The next state and what the agent must do; an event that does not fit changes nothing."""
    s = booth.state
    at = event.at

    # Conditions that hold whatever the flow state.
    if isinstance(event, Connected):
        return dataclasses.replace(booth, online=True), (Effect.REPORT,)
    if isinstance(event, Disconnected):
        return dataclasses.replace(booth, online=False), ()
    if isinstance(event, PresenceChanged):
        if event.present == booth.present:
            return booth, ()
        changed = dataclasses.replace(booth, present=event.present)
        # The officer's tile says "away" rather than letting them talk to an empty chair.
        seat: Effects = (Effect.SEND_SEAT,) if _paired(booth) else ()
        if not event.present and s in SEATED_STATES:
            return changed, (Effect.REPORT_AWAY, Effect.REPORT, *seat)
        return changed, (Effect.REPORT, *seat)
    if isinstance(event, DeviceFailed):
        if event.device in booth.faults:
            return booth, ()
        faults = (*booth.faults, event.device)
        if s is BoothState.IDLE:
            return _enter(booth, BoothState.OUT_OF_SERVICE, at, faults=faults), (
                Effect.CAMERA_OFF, Effect.REPORT)
        # A participant in the middle of a session keeps it; the booth closes after them.
        return dataclasses.replace(booth, faults=faults), (Effect.REPORT,)
    if isinstance(event, DeviceRecovered):
        if event.device not in booth.faults:
            return booth, ()
        faults = tuple(f for f in booth.faults if f != event.device)
        if s is BoothState.OUT_OF_SERVICE and not faults:
            return _idle(dataclasses.replace(booth, faults=()), at), (
                Effect.REPORT, Effect.BOOTH_READY)
        return dataclasses.replace(booth, faults=faults), (Effect.REPORT,)

    if isinstance(event, ServiceAsked) and s is BoothState.IDLE:
        return _enter(booth, BoothState.WAITING, at), (Effect.CAMERA_ON, Effect.REPORT)
    if isinstance(event, Claimed) and s is BoothState.IDLE:
        return _enter(booth, BoothState.CLAIMED, at, ticket=event.ticket,
                      number=event.number), (Effect.CAMERA_ON, Effect.REPORT)
    if isinstance(event, ClaimRefused) and s is BoothState.IDLE:
        # Nothing changes but the message shown.
        return dataclasses.replace(booth, notice=event.text_key, notice_at=at,
                                   notice_values=event.values), ()
    if isinstance(event, CheckedIn) and s is BoothState.IDLE and event.number:
        return dataclasses.replace(booth, notice="booth.checked_in", notice_at=at,
                                   notice_values=(("number", event.number),)), ()
    if isinstance(event, Waiting) and s is BoothState.IDLE and event.ticket:
        # The queue may tell before it answers the claim: the server is the truth.
        return _enter(booth, BoothState.WAITING, at, ticket=event.ticket, number=event.number,
                      expected_wait_s=event.expected_wait_s, position=event.position), (
            Effect.CAMERA_ON, Effect.REPORT)
    if isinstance(event, Waiting) and s in (BoothState.CLAIMED, BoothState.WAITING):
        if event.ticket and booth.ticket and event.ticket != booth.ticket:
            return booth, ()
        return _enter(booth, BoothState.WAITING, at if s is BoothState.CLAIMED else booth.since,
                      ticket=booth.ticket or event.ticket,
                      number=booth.number or event.number,
                      expected_wait_s=event.expected_wait_s,
                      position=event.position), (Effect.REPORT,)
    if isinstance(event, Paired):
        if s is BoothState.IDLE:
            # Paired before the claim's answer, or a session the server kept while this
            # booth lost its state: the server is the truth.
            return _enter(booth, BoothState.IN_SESSION, at, pairing=event.pairing,
                          hub=event.hub, ticket=event.ticket, number=event.number), (
                Effect.CAMERA_ON, Effect.REPORT)
        # A hub that takes a participant who is away hears so at once.
        away: Effects = () if booth.present else (Effect.SEND_SEAT,)
        if s in (BoothState.CLAIMED, BoothState.WAITING):
            return _enter(booth, BoothState.IN_SESSION, at, pairing=event.pairing, hub=event.hub,
                          parked=False,
                          ticket=booth.ticket or event.ticket,
                          number=booth.number or event.number), (Effect.REPORT, *away)
        if s in SESSION_STATES and event.hub == booth.hub:
            # The same session after a reconnect (the server re-sends Pair): keep everything.
            return dataclasses.replace(booth, pairing=event.pairing), ()
        if s in SESSION_STATES:
            # Transferred to another officer: the documents and progress stay.
            return dataclasses.replace(booth, pairing=event.pairing, hub=event.hub,
                                       focused=False), (Effect.REPORT, *away)
        return booth, ()
    if isinstance(event, Released) and s in SESSION_STATES and event.pairing == booth.pairing:
        # The officer is gone (hub lost) or parked the case: wait for one again; scans
        # already made stay.
        return _enter(booth, BoothState.WAITING, at, pairing="", hub="", focused=False,
                      parked=event.parked), (
            Effect.STOP_SCAN, Effect.REQUEST_SERVICE, Effect.REPORT)
    if isinstance(event, Attention) and s in SESSION_STATES:
        return dataclasses.replace(booth, focused=event.focused,
                                   hand_raised=booth.hand_raised and not event.focused), ()
    if isinstance(event, HandToggled) and s in SEATED_STATES:
        return dataclasses.replace(booth, hand_raised=not booth.hand_raised), (Effect.SEND_HAND,)
    if isinstance(event, DocsRequested) and s in SESSION_STATES:
        docs = booth
        for kind in event.kinds:
            current = docs.document(kind)
            if current is None or current.status in (DocStatus.REJECTED, DocStatus.RESCAN):
                docs = dataclasses.replace(docs, documents=_with_doc(docs, Document(kind)))
        if event.rescan:
            for doc in docs.documents:
                if event.rescan in (doc.document, doc.kind):
                    again = Document(doc.kind, DocStatus.RESCAN, doc.document, event.reason)
                    docs = dataclasses.replace(docs, documents=_with_doc(docs, again))
        if docs.scanning_kind is None:
            return booth, ()
        effects: Effects = (Effect.REPORT,) if s is BoothState.SCANNING else (
            Effect.START_SCAN, Effect.REPORT)
        return _enter(docs, BoothState.SCANNING, at if s is not BoothState.SCANNING
                      else booth.since), effects
    if isinstance(event, DocCaptured) and s is BoothState.SCANNING:
        captured = booth.document(event.kind)
        if captured is None or captured.status not in TO_SCAN:
            return booth, ()
        moved = dataclasses.replace(
            booth, documents=_with_doc(booth, Document(captured.kind, DocStatus.UPLOADING,
                                                       captured.document)))
        return _after_docs(moved, at)
    if isinstance(event, DocUpdated) and s in SESSION_STATES:
        known = booth.document(event.kind)
        if known is None:
            return booth, ()
        try:
            status = DocStatus(event.status)
        except ValueError:
            return booth, ()
        updated = Document(known.kind, status, event.document or known.document, event.reason)
        moved = dataclasses.replace(booth, documents=_with_doc(booth, updated))
        if status is DocStatus.RESCAN and s is BoothState.IN_SESSION:
            return _enter(moved, BoothState.SCANNING, at), (Effect.START_SCAN, Effect.REPORT)
        return _after_docs(moved, at)
    if isinstance(event, VerdictGiven) and s in SEATED_STATES:
        if event.ticket and booth.ticket and event.ticket != booth.ticket:
            return booth, ()
        outcome = Outcome(event.reference, event.outcome, event.next_steps)
        return _enter(booth, BoothState.VERDICT, at, verdict=outcome, focused=False,
                      hand_raised=False), (Effect.STOP_SCAN, Effect.PRINT_RECEIPT, Effect.REPORT)
    if isinstance(event, ReceiptDone) and s is BoothState.VERDICT:
        return _enter(booth, BoothState.RECEIPT, at, receipt_printed=event.printed), (
            Effect.START_GOODBYE, Effect.REPORT)
    if isinstance(event, GoodbyeOver) and s is BoothState.RECEIPT:
        if booth.faults:
            return _enter(_idle(booth, at), BoothState.OUT_OF_SERVICE, at), (
                Effect.CAMERA_OFF, Effect.CLEAR_LOCAL_DOCS, Effect.REPORT)
        return _idle(booth, at), (Effect.CAMERA_OFF, Effect.CLEAR_LOCAL_DOCS, Effect.REPORT,
                                  Effect.BOOTH_READY)
    return booth, ()
