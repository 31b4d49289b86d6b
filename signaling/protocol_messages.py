"""Every message between devices and the branch server, one frozen dataclass per ``type``.

Import them through :mod:`signaling.protocol`, which also holds the codec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from signaling import limits
from signaling.errors import ProtocolError
from signaling.protocol_codec import DEVICE_ID_RE, ID_RE, MESSAGE_TYPES, Message, text_field
from signaling.protocol_enums import DocumentStatus, ReleaseReason, Role

# --- session ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Hello(Message):
    """First message of every connection: the device's credential."""

    TYPE: ClassVar[str] = "hello"
    token: str = field(metadata={"max": limits.MAX_TOKEN_CHARS})
    resume: bool = False
    software: str = field(default="", metadata={"max": 64})


@dataclass(frozen=True, kw_only=True)
class Welcome(Message):
    """The server accepted the device; ``resumed`` tells whether its pairings were kept."""

    TYPE: ClassVar[str] = "welcome"
    device_id: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    role: str = field(metadata={"choices": tuple(r.value for r in Role)})
    session: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    resumed: bool = False
    heartbeat_s: float = field(default=limits.HEARTBEAT_INTERVAL_S, metadata={"min": 0.0})
    resume_window_s: float = field(default=limits.RESUME_WINDOW_S, metadata={"min": 0.0})


@dataclass(frozen=True, kw_only=True)
class Status(Message):
    """A device's state and the health of each of its parts (camera, printer...)."""

    TYPE: ClassVar[str] = "status"
    state: str = text_field(64)
    health: dict[str, str] = field(default_factory=dict)
    detail: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})


@dataclass(frozen=True, kw_only=True)
class Ok(Message):
    """Positive reply to a request (``ref`` names it)."""

    TYPE: ClassVar[str] = "ok"


@dataclass(frozen=True, kw_only=True)
class Error(Message):
    """Negative reply: ``code`` is machine-readable, ``detail`` says precisely what was wrong."""

    TYPE: ClassVar[str] = "error"
    code: str = text_field(64)
    detail: str = field(default="", metadata={"max": 2048})
    # Catalogue key of the text to show a participant (bilik.catalogue), when there is one.
    text_key: str = field(default="", metadata={"max": 64})
    # Values of that text's {placeholders} ("booth": "Bilik 2" for queue.wrong_booth).
    values: dict[str, str] = field(default_factory=dict)


# --- pairing ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Capacity(Message):
    """A hub announces how many booths it takes at once in total (at most six).

    The server counts the hub's load itself from its pairings, so ``slots`` is the hub's
    total, not its free slots. ``skills`` are the service types its officer handles
    (empty: all) and ``officer`` the signed-in officer's id.
    """

    TYPE: ClassVar[str] = "capacity"
    slots: int = field(metadata={"min": 0, "max": limits.MAX_HUB_SLOTS})
    skills: list[str] = field(default_factory=list, metadata={"max_items": 16})
    officer: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})


@dataclass(frozen=True, kw_only=True)
class ServiceRequest(Message):
    """A booth asks to be paired with an officer hub."""

    TYPE: ClassVar[str] = "service_request"


@dataclass(frozen=True, kw_only=True)
class Pair(Message):
    """The server paired ``booth`` with ``hub``; sent to both, and again after each reconnect."""

    TYPE: ClassVar[str] = "pair"
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    booth: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    hub: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    # The ticket being served (empty for a pairing made outside the queue).
    ticket: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})
    number: str = field(default="", metadata={"max": 16})
    service: str = field(default="", metadata={"max": 32})


@dataclass(frozen=True, kw_only=True)
class Release(Message):
    """A pairing ends (either side may ask; the server tells both)."""

    TYPE: ClassVar[str] = "release"
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    reason: str = field(
        default=ReleaseReason.DONE.value,
        metadata={"choices": tuple(r.value for r in ReleaseReason)},
    )


# --- relay (only between a booth and its paired hub) -------------------------------------


@dataclass(frozen=True, kw_only=True)
class Offer(Message):
    TYPE: ClassVar[str] = "offer"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    sdp: str = field(metadata={"max": limits.MAX_SDP_BYTES, "sdp": True})


@dataclass(frozen=True, kw_only=True)
class Answer(Message):
    TYPE: ClassVar[str] = "answer"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    sdp: str = field(metadata={"max": limits.MAX_SDP_BYTES, "sdp": True})


@dataclass(frozen=True, kw_only=True)
class Ice(Message):
    """A trickled ICE candidate; an empty ``candidate`` means end of candidates."""

    TYPE: ClassVar[str] = "ice"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    candidate: str = field(default="", metadata={"max": 1024})
    sdp_mid: str | None = field(default=None, metadata={"max": 64})
    sdp_mline_index: int | None = field(default=None, metadata={"min": 0, "max": 64})


@dataclass(frozen=True, kw_only=True)
class Hand(Message):
    """Booth -> its hub: the participant raised (or lowered) a hand: ready, or needs help."""

    TYPE: ClassVar[str] = "hand"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    raised: bool = True
    reason: str = field(default="ready", metadata={"choices": ("ready", "help")})


@dataclass(frozen=True, kw_only=True)
class DocRequest(Message):
    """Hub -> its booth: the officer asks for these documents (kinds), or a rescan of one."""

    TYPE: ClassVar[str] = "doc_request"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    kinds: list[str] = field(default_factory=list, metadata={"max_items": 16})
    rescan: str = field(default="", metadata={"max": 64})  # document id to scan again
    reason: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})


@dataclass(frozen=True, kw_only=True)
class DocUpdate(Message):
    """Either side of a pairing: a document's status changed (uploaded, accepted, rescan...)."""

    TYPE: ClassVar[str] = "doc_update"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    document: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    kind: str = text_field(64)
    status: str = field(
        metadata={"choices": tuple(s.value for s in DocumentStatus)}
    )
    reason: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})


@dataclass(frozen=True, kw_only=True)
class Seat(Message):
    """Booth -> its hub: the participant's seat is occupied, or they stepped away.

    Sent when presence detection changes its mind (after its own debounce), so the officer
    sees "participant away" on the booth's tile instead of talking to an empty chair.
    """

    TYPE: ClassVar[str] = "seat"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    occupied: bool = True


@dataclass(frozen=True, kw_only=True)
class Attention(Message):
    """Hub -> its booth: the officer is (or is no longer) attending this booth."""

    TYPE: ClassVar[str] = "attention"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    focused: bool = False


@dataclass(frozen=True, kw_only=True)
class Consent(Message):
    """Booth -> server: the participant's answer to the recording consent (stored with the
    case); server -> the booth's hub, with ``peer`` the booth and ``required`` the branch's
    setting (recording required: a refusal is the officer's to decide)."""

    TYPE: ClassVar[str] = "consent"
    peer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = text_field(limits.MAX_ID_CHARS, ID_RE)
    ticket: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})
    wording: str = text_field(32)  # the version of the words shown (bilik.catalogue.consent)
    accepted: bool = False
    at: float = 0.0  # when the participant answered (the booth's clock, epoch seconds)
    required: bool = False


RELAYED: tuple[type[Message], ...] = (
    Offer, Answer, Ice, Hand, Seat, DocRequest, DocUpdate, Attention
)


# --- cases and decisions ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OfficerSignIn(Message):
    """Hub -> server: an officer signs in at this hub with id and PIN (Ok or Error reply)."""

    TYPE: ClassVar[str] = "officer_sign_in"
    officer: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pin: str = text_field(32)


@dataclass(frozen=True, kw_only=True)
class Decision(Message):
    """Hub -> server: the signed-in officer's decision on the booth's claim; it is recorded
    with the officer's id, answered with the claim reference, and told to the booth."""

    TYPE: ClassVar[str] = "decision"
    booth: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    ticket: str = text_field(limits.MAX_ID_CHARS)
    outcome: str = text_field(64)
    note: str = field(default="", metadata={"max": 2048})
    checklist: list[str] = field(default_factory=list, metadata={"max_items": 32})
    # The claim's key data (nik, name, bank, account; signaling.claimdata checks it).
    claim: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Receipt(Message):
    """Booth -> server: whether the decision's receipt was printed. A printer that failed in
    the session leaves the receipt on the booth's screen only; the server stores the flag
    with the decision and tells the officer and the manager (``reason``: the printer's)."""

    TYPE: ClassVar[str] = "receipt"
    reference: str = text_field(64)
    printed: bool = False
    reason: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})


@dataclass(frozen=True, kw_only=True)
class Verdict(Message):
    """Server -> booth (and reply to Decision): the decision, its reference and next steps."""

    TYPE: ClassVar[str] = "verdict"
    ticket: str = text_field(limits.MAX_ID_CHARS)
    reference: str = text_field(64)
    outcome: str = text_field(64)
    next_steps: str = field(default="", metadata={"max": 2048})


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TicketRequest(Message):
    """Kiosk -> server: a walk-in takes a ticket for a service (priority: elderly, disabled...)."""

    TYPE: ClassVar[str] = "ticket_request"
    service: str = text_field(32)
    priority: str = field(default="none", metadata={"max": 32})


@dataclass(frozen=True, kw_only=True)
class CheckIn(Message):
    """Kiosk or booth -> server: a participant with a booking checks in by its code."""

    TYPE: ClassVar[str] = "check_in"
    code: str = text_field(32)


@dataclass(frozen=True, kw_only=True)
class TicketInfo(Message):
    """Server -> kiosk (reply): the ticket to print, with an honest expected wait."""

    TYPE: ClassVar[str] = "ticket_info"
    ticket: str = text_field(limits.MAX_ID_CHARS)
    number: str = text_field(16)
    service: str = text_field(32)
    qr: str = text_field(256)
    ahead: int = field(default=0, metadata={"min": 0})
    expected_wait_s: float = field(default=0.0, metadata={"min": 0.0})
    slot: float | None = None  # the booking's slot, for a check-in


@dataclass(frozen=True, kw_only=True)
class Claim(Message):
    """Booth -> server: the participant showed this ticket QR at the booth."""

    TYPE: ClassVar[str] = "claim"
    qr: str = text_field(256)


@dataclass(frozen=True, kw_only=True)
class Called(Message):
    """Server -> displays and the booth: ticket ``number`` is called to ``label``."""

    TYPE: ClassVar[str] = "called"
    ticket: str = text_field(limits.MAX_ID_CHARS)
    number: str = text_field(16)
    booth: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    label: str = text_field(64)
    attempt: int = field(default=0, metadata={"min": 0})


@dataclass(frozen=True, kw_only=True)
class Cleared(Message):
    """Server -> displays and the booth: take ``number`` off (claimed, no-show, moved)."""

    TYPE: ClassVar[str] = "cleared"
    number: str = text_field(16)
    booth: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})
    reason: str = field(metadata={"choices": ("claimed", "no_show", "moved")})


@dataclass(frozen=True, kw_only=True)
class Waiting(Message):
    """Server -> booth: the participant is seated; an officer comes in about this long."""

    TYPE: ClassVar[str] = "waiting"
    ticket: str = text_field(limits.MAX_ID_CHARS)
    expected_wait_s: float = field(default=0.0, metadata={"min": 0.0})
    position: int = field(default=0, metadata={"min": 0})


@dataclass(frozen=True, kw_only=True)
class BoothReady(Message):
    """Booth -> server: the booth is empty and ready to call the next ticket."""

    TYPE: ClassVar[str] = "booth_ready"


@dataclass(frozen=True, kw_only=True)
class Focus(Message):
    """Hub -> server: the officer now attends ``booth`` (empty: nobody)."""

    TYPE: ClassVar[str] = "focus"
    booth: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})


@dataclass(frozen=True, kw_only=True)
class SessionEnd(Message):
    """Hub -> server: the officer closed the booth's case with an outcome code."""

    TYPE: ClassVar[str] = "session_end"
    booth: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    outcome: str = text_field(64)


@dataclass(frozen=True, kw_only=True)
class Transfer(Message):
    """Hub -> server: hand the booth's case to another officer (``to_hub`` empty: any)."""

    TYPE: ClassVar[str] = "transfer"
    booth: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    to_hub: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})


@dataclass(frozen=True, kw_only=True)
class Park(Message):
    """Hub -> server: put the booth's case on hold (frees the officer's slot) or resume it."""

    TYPE: ClassVar[str] = "park"
    booth: str = text_field(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    resume: bool = False


@dataclass(frozen=True, kw_only=True)
class Alert(Message):
    """Server -> hubs: a service-level alert (an appointment at risk of starting late...)."""

    TYPE: ClassVar[str] = "alert"
    kind: str = text_field(64)
    subject: str = text_field(64)  # booking code or ticket
    detail: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})
    at: float = 0.0  # when it is predicted to happen (epoch seconds)
    ticket: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})  # "" if none yet

_BUILTIN: tuple[type[Message], ...] = (
    Hello, Welcome, Status, Ok, Error, Capacity, ServiceRequest, Pair, Release, *RELAYED,
    TicketRequest, CheckIn, TicketInfo, Claim, Called, Cleared, Waiting, BoothReady, Focus,
    SessionEnd, Transfer, Park, Alert, OfficerSignIn, Decision, Verdict, Consent, Receipt,
)
MESSAGE_TYPES.update({cls.TYPE: cls for cls in _BUILTIN})


def error_reply(exc: ProtocolError) -> Error:
    return Error(code=exc.code, detail=exc.detail, ref=exc.ref)
