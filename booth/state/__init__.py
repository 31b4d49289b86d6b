"""The booth's flow as a pure core: its state (:mod:`.model`), what happens to it and what
must be done about it (:mod:`.events`), the state machine and the flow policy
(:mod:`.machine`), and what the server's messages mean for it (:mod:`.inbound`).

Nothing here touches a socket, a camera, a printer or a clock; the agent
(:mod:`booth.agent`) is the shell that carries the effects out.
"""

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
from booth.state.inbound import Inbound, readable
from booth.state.machine import accepts_code, joins_call, transition, waits_for_code
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

__all__ = [
    "SEATED_STATES", "SESSION_STATES", "TO_SCAN", "Attention", "Booth", "BoothState",
    "CallFailed", "CheckedIn", "ClaimRefused", "Claimed", "Connected", "DeviceFailed",
    "DeviceRecovered", "Disconnected", "DocCaptured", "DocStatus", "DocUpdated",
    "DocsRequested", "Document", "Effect", "Effects", "Event", "Flow", "GoodbyeOver",
    "HandToggled", "Inbound", "Outcome", "Paired", "PresenceChanged", "ReceiptDone",
    "Released", "ServiceAsked", "VerdictGiven", "Waiting", "accepts_code", "joins_call",
    "readable", "transition", "waits_for_code",
]
