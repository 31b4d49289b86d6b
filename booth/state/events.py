"""What happens to a booth (events, small frozen dataclasses carrying their time) and
what the agent must do about it (effects)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

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
class CallFailed(Event):
    """The call with the hub failed (it broke, or never connected) and was released."""


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
    BOOTH_READY = "booth_ready"  # ticket flow: tell the server the booth is empty again
    CLEAR_LOCAL_DOCS = "clear_local_docs"  # delete anything left of the participant's scans
    REPORT_AWAY = "report_away"  # the participant left the seat (the "unreachable" complaint)
    DROP_CALL = "drop_call"  # the officer is gone: release what is left of the call
    ASK_SERVICE = "ask_service"  # direct flow: ask for any officer now
    ASK_SERVICE_AGAIN = "ask_service_again"  # direct flow: ask again after REREQUEST_DELAY_S


Effects = tuple[Effect, ...]
