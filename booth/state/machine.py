"""The booth's flow as a pure state machine: ``transition(booth, event, flow) -> (booth,
effects)``.

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

The flow policy lives here too: in the ticket flow an empty booth tells the server it is ready
(``BOOTH_READY``) and waits for a ticket; in the direct flow (demo, call benchmark) it asks for
any officer as soon as it is online, and again whenever it is left without one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from booth.state.events import (
    Attention,
    CallFailed,
    CheckedIn,
    Claimed,
    ClaimRefused,
    Connected,
    DeviceFailed,
    DeviceRecovered,
    Disconnected,
    DocCaptured,
    DocsRequested,
    DocUpdated,
    Effect,
    Effects,
    Event,
    GoodbyeOver,
    HandToggled,
    Paired,
    PresenceChanged,
    ReceiptDone,
    Released,
    ServiceAsked,
    VerdictGiven,
    Waiting,
)
from booth.state.model import (
    SEATED_STATES,
    SESSION_STATES,
    TO_SCAN,
    Booth,
    BoothState,
    DocStatus,
    Document,
    Flow,
    Outcome,
)


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


def _ready(booth: Booth, flow: Flow) -> Effects:
    """What an empty booth does: tell the queue it is ready, or ask for an officer again."""
    if flow is Flow.TICKET:
        return (Effect.BOOTH_READY,)
    return (Effect.ASK_SERVICE_AGAIN,) if booth.online else ()


def joins_call(booth: Booth, flow: Flow) -> bool:
    """A ``Pair`` (after :class:`Paired` was applied) sets up the call with the hub: in a
    session, or always in the direct flow."""
    return booth.state in SESSION_STATES or flow is Flow.DIRECT


def waits_for_code(booth: Booth) -> bool:
    """The welcome screen is up: the booth waits for a participant's ticket (and can send
    the claim), so the ticket camera looks for one."""
    return booth.state is BoothState.IDLE and booth.online


def accepts_code(booth: Booth, flow: Flow) -> bool:
    """A ticket QR or booking code read now is claimed: only by an empty ticket-flow booth."""
    return booth.state is BoothState.IDLE and flow is Flow.TICKET


def _after_docs(booth: Booth, at: float) -> tuple[Booth, Effects]:
    """Scanning ends when nothing is left to scan; back to the session."""
    if booth.state is BoothState.SCANNING and booth.scanning_kind is None:
        return _enter(booth, BoothState.IN_SESSION, at), (Effect.STOP_SCAN, Effect.REPORT)
    return booth, (Effect.REPORT,)


def transition(booth: Booth, event: Event, flow: Flow = Flow.TICKET) -> tuple[Booth, Effects]:
    """The next state and what the agent must do; an event that does not fit changes nothing."""
    s = booth.state
    at = event.at

    # Conditions that hold whatever the flow state.
    if isinstance(event, Connected):
        online = dataclasses.replace(booth, online=True)
        if flow is Flow.DIRECT:
            # Any officer, at once (after a reconnect too: the server keeps one pairing).
            asked, seated = transition(online, ServiceAsked(at), flow)
            return asked, (Effect.REPORT, *seated, Effect.ASK_SERVICE)
        ready = _ready(online, flow) if s is BoothState.IDLE and not booth.faults else ()
        return online, (Effect.REPORT, *ready)
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
                Effect.REPORT, *_ready(booth, flow))
        return dataclasses.replace(booth, faults=faults), (Effect.REPORT,)

    if isinstance(event, CallFailed):
        return booth, (Effect.ASK_SERVICE_AGAIN,) if flow is Flow.DIRECT else ()
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
                          parked=False, ticket=booth.ticket or event.ticket,
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
        ask: Effects = (Effect.ASK_SERVICE_AGAIN,) if flow is Flow.DIRECT else ()
        return _enter(booth, BoothState.WAITING, at, pairing="", hub="", focused=False,
                      parked=event.parked), (
            Effect.STOP_SCAN, Effect.DROP_CALL, *ask, Effect.REPORT)
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
                                  *_ready(booth, flow))
    return booth, ()
