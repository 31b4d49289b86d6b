"""The wire protocol: every message between devices and the branch server, typed and versioned.

A message is one JSON object per WebSocket text frame. The envelope is
``v`` (protocol version), ``type``, ``id`` (unique per sender) and, on replies,
``ref`` (the ``id`` it answers); the payload fields of each type sit beside
them. :func:`parse` validates everything and raises :class:`ProtocolError`
with a precise ``code`` and ``detail``; :func:`encode` is its inverse.

    >>> m = parse('{"v": 1, "type": "capacity", "id": "m1", "slots": 6}')
    >>> m
    Capacity(id='m1', ref=None, slots=6)
    >>> parse(encode(m)) == m
    True
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from signaling import limits
from signaling.errors import ProtocolError

PROTOCOL_VERSION = 1
ENVELOPE_FIELDS = ("v", "type", "id", "ref")

ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")
DEVICE_ID_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")


class Role(enum.StrEnum):
    BOOTH = "booth"
    HUB = "hub"
    DISPLAY = "display"
    KIOSK = "kiosk"
    ADMIN = "admin"


class ErrorCode(enum.StrEnum):
    BAD_MESSAGE = "bad_message"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_TYPE = "unknown_type"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_PAIRED = "not_paired"
    PEER_OFFLINE = "peer_offline"
    RATE_LIMITED = "rate_limited"
    NO_CAPACITY = "no_capacity"
    INTERNAL = "internal"


class ReleaseReason(enum.StrEnum):
    DONE = "done"
    PEER_OFFLINE = "peer_offline"
    HUB_FULL = "hub_full"
    ADMIN = "admin"
    REPLACED = "replaced"
    TRANSFER = "transfer"  # the case moves to another officer
    FAULT = "fault"  # the booth has a device fault; its ticket waits for another booth
    PARK = "park"  # the case is on hold; the officer's slot is free


_counter = itertools.count(1)
_prefix = os.urandom(3).hex()


def new_id() -> str:
    """A message id unique within this process and very likely across processes."""
    return f"{_prefix}-{next(_counter)}"


def _text(max_chars: int = limits.MAX_TEXT_CHARS, pattern: re.Pattern[str] | None = None) -> Any:
    return field(metadata={"max": max_chars, "pattern": pattern})


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every message; subclasses set ``TYPE`` and add payload fields."""

    TYPE: ClassVar[str] = ""
    id: str = field(default_factory=new_id)
    ref: str | None = None


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
    device_id: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    role: str = field(metadata={"choices": tuple(r.value for r in Role)})
    session: str = _text(limits.MAX_ID_CHARS, ID_RE)
    resumed: bool = False
    heartbeat_s: float = field(default=limits.HEARTBEAT_INTERVAL_S, metadata={"min": 0.0})
    resume_window_s: float = field(default=limits.RESUME_WINDOW_S, metadata={"min": 0.0})


@dataclass(frozen=True, kw_only=True)
class Status(Message):
    """A device's state and the health of each of its parts (camera, printer...)."""

    TYPE: ClassVar[str] = "status"
    state: str = _text(64)
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
    code: str = _text(64)
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
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    booth: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    hub: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    # The ticket being served (empty for a pairing made outside the queue).
    ticket: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})
    number: str = field(default="", metadata={"max": 16})
    service: str = field(default="", metadata={"max": 32})


@dataclass(frozen=True, kw_only=True)
class Release(Message):
    """A pairing ends (either side may ask; the server tells both)."""

    TYPE: ClassVar[str] = "release"
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    reason: str = field(
        default=ReleaseReason.DONE.value,
        metadata={"choices": tuple(r.value for r in ReleaseReason)},
    )


# --- relay (only between a booth and its paired hub) -------------------------------------


@dataclass(frozen=True, kw_only=True)
class Offer(Message):
    TYPE: ClassVar[str] = "offer"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    sdp: str = field(metadata={"max": limits.MAX_SDP_BYTES, "sdp": True})


@dataclass(frozen=True, kw_only=True)
class Answer(Message):
    TYPE: ClassVar[str] = "answer"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    sdp: str = field(metadata={"max": limits.MAX_SDP_BYTES, "sdp": True})


@dataclass(frozen=True, kw_only=True)
class Ice(Message):
    """A trickled ICE candidate; an empty ``candidate`` means end of candidates."""

    TYPE: ClassVar[str] = "ice"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    candidate: str = field(default="", metadata={"max": 1024})
    sdp_mid: str | None = field(default=None, metadata={"max": 64})
    sdp_mline_index: int | None = field(default=None, metadata={"min": 0, "max": 64})


@dataclass(frozen=True, kw_only=True)
class Hand(Message):
    """Booth -> its hub: the participant raised (or lowered) a hand: ready, or needs help."""

    TYPE: ClassVar[str] = "hand"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    raised: bool = True
    reason: str = field(default="ready", metadata={"choices": ("ready", "help")})


@dataclass(frozen=True, kw_only=True)
class DocRequest(Message):
    """Hub -> its booth: the officer asks for these documents (kinds), or a rescan of one."""

    TYPE: ClassVar[str] = "doc_request"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    kinds: list[str] = field(default_factory=list, metadata={"max_items": 16})
    rescan: str = field(default="", metadata={"max": 64})  # document id to scan again
    reason: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})


@dataclass(frozen=True, kw_only=True)
class DocUpdate(Message):
    """Either side of a pairing: a document's status changed (uploaded, accepted, rescan...)."""

    TYPE: ClassVar[str] = "doc_update"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    document: str = _text(limits.MAX_ID_CHARS, ID_RE)
    kind: str = _text(64)
    status: str = field(
        metadata={"choices": ("uploaded", "accepted", "rescan", "rejected", "deleted")}
    )
    reason: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})


@dataclass(frozen=True, kw_only=True)
class Seat(Message):
    """Booth -> its hub: the participant's seat is occupied, or they stepped away.

    Sent when presence detection changes its mind (after its own debounce), so the officer
    sees "participant away" on the booth's tile instead of talking to an empty chair.
    """

    TYPE: ClassVar[str] = "seat"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    occupied: bool = True


@dataclass(frozen=True, kw_only=True)
class Attention(Message):
    """Hub -> its booth: the officer is (or is no longer) attending this booth."""

    TYPE: ClassVar[str] = "attention"
    peer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pairing: str = _text(limits.MAX_ID_CHARS, ID_RE)
    focused: bool = False


RELAYED: tuple[type[Message], ...] = (
    Offer, Answer, Ice, Hand, Seat, DocRequest, DocUpdate, Attention
)


# --- cases and decisions ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OfficerSignIn(Message):
    """Hub -> server: an officer signs in at this hub with id and PIN (Ok or Error reply)."""

    TYPE: ClassVar[str] = "officer_sign_in"
    officer: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    pin: str = _text(32)


@dataclass(frozen=True, kw_only=True)
class Decision(Message):
    """Hub -> server: the signed-in officer's decision on the booth's claim; it is recorded
    with the officer's id, answered with the claim reference, and told to the booth."""

    TYPE: ClassVar[str] = "decision"
    booth: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    ticket: str = _text(limits.MAX_ID_CHARS)
    outcome: str = _text(64)
    note: str = field(default="", metadata={"max": 2048})
    checklist: list[str] = field(default_factory=list, metadata={"max_items": 32})
    # The claim's key data (nik, name, bank, account; signaling.claimdata checks it).
    claim: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Verdict(Message):
    """Server -> booth (and reply to Decision): the decision, its reference and next steps."""

    TYPE: ClassVar[str] = "verdict"
    ticket: str = _text(limits.MAX_ID_CHARS)
    reference: str = _text(64)
    outcome: str = _text(64)
    next_steps: str = field(default="", metadata={"max": 2048})


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TicketRequest(Message):
    """Kiosk -> server: a walk-in takes a ticket for a service (priority: elderly, disabled...)."""

    TYPE: ClassVar[str] = "ticket_request"
    service: str = _text(32)
    priority: str = field(default="none", metadata={"max": 32})


@dataclass(frozen=True, kw_only=True)
class CheckIn(Message):
    """Kiosk or booth -> server: a participant with a booking checks in by its code."""

    TYPE: ClassVar[str] = "check_in"
    code: str = _text(32)


@dataclass(frozen=True, kw_only=True)
class TicketInfo(Message):
    """Server -> kiosk (reply): the ticket to print, with an honest expected wait."""

    TYPE: ClassVar[str] = "ticket_info"
    ticket: str = _text(limits.MAX_ID_CHARS)
    number: str = _text(16)
    service: str = _text(32)
    qr: str = _text(256)
    ahead: int = field(default=0, metadata={"min": 0})
    expected_wait_s: float = field(default=0.0, metadata={"min": 0.0})
    slot: float | None = None  # the booking's slot, for a check-in


@dataclass(frozen=True, kw_only=True)
class Claim(Message):
    """Booth -> server: the participant showed this ticket QR at the booth."""

    TYPE: ClassVar[str] = "claim"
    qr: str = _text(256)


@dataclass(frozen=True, kw_only=True)
class Called(Message):
    """Server -> displays and the booth: ticket ``number`` is called to ``label``."""

    TYPE: ClassVar[str] = "called"
    ticket: str = _text(limits.MAX_ID_CHARS)
    number: str = _text(16)
    booth: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    label: str = _text(64)
    attempt: int = field(default=0, metadata={"min": 0})


@dataclass(frozen=True, kw_only=True)
class Cleared(Message):
    """Server -> displays and the booth: take ``number`` off (claimed, no-show, moved)."""

    TYPE: ClassVar[str] = "cleared"
    number: str = _text(16)
    booth: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})
    reason: str = field(metadata={"choices": ("claimed", "no_show", "moved")})


@dataclass(frozen=True, kw_only=True)
class Waiting(Message):
    """Server -> booth: the participant is seated; an officer comes in about this long."""

    TYPE: ClassVar[str] = "waiting"
    ticket: str = _text(limits.MAX_ID_CHARS)
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
    booth: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    outcome: str = _text(64)


@dataclass(frozen=True, kw_only=True)
class Transfer(Message):
    """Hub -> server: hand the booth's case to another officer (``to_hub`` empty: any)."""

    TYPE: ClassVar[str] = "transfer"
    booth: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    to_hub: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})


@dataclass(frozen=True, kw_only=True)
class Park(Message):
    """Hub -> server: put the booth's case on hold (frees the officer's slot) or resume it."""

    TYPE: ClassVar[str] = "park"
    booth: str = _text(limits.MAX_ID_CHARS, DEVICE_ID_RE)
    resume: bool = False


@dataclass(frozen=True, kw_only=True)
class Alert(Message):
    """Server -> hubs: a service-level alert (an appointment at risk of starting late...)."""

    TYPE: ClassVar[str] = "alert"
    kind: str = _text(64)
    subject: str = _text(64)  # booking code or ticket
    detail: str = field(default="", metadata={"max": limits.MAX_TEXT_CHARS})
    at: float = 0.0  # when it is predicted to happen (epoch seconds)
    ticket: str = field(default="", metadata={"max": limits.MAX_ID_CHARS})  # "" if none yet

_BUILTIN: tuple[type[Message], ...] = (
    Hello, Welcome, Status, Ok, Error, Capacity, ServiceRequest, Pair, Release, *RELAYED,
    TicketRequest, CheckIn, TicketInfo, Claim, Called, Cleared, Waiting, BoothReady, Focus,
    SessionEnd, Transfer, Park, Alert, OfficerSignIn, Decision, Verdict,
)
MESSAGE_TYPES: dict[str, type[Message]] = {cls.TYPE: cls for cls in _BUILTIN}


def register(cls: type[Message]) -> type[Message]:
    """Add a message type defined elsewhere in signaling (the queue's messages)."""
    if not cls.TYPE or cls.TYPE in MESSAGE_TYPES:
        raise ValueError(f"message type {cls.TYPE!r} is empty or already registered")
    MESSAGE_TYPES[cls.TYPE] = cls
    _SPECS.pop(cls, None)
    return cls


# --- codec ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    kind: type
    optional: bool
    required: bool
    meta: dict[str, Any]


_SPECS: dict[type[Message], list[_FieldSpec]] = {}


def _specs(cls: type[Message]) -> list[_FieldSpec]:
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            if f.name in ("id", "ref"):
                continue
            tp = hints[f.name]
            optional = False
            if typing.get_origin(tp) in (typing.Union, types.UnionType):
                args = [a for a in typing.get_args(tp) if a is not type(None)]
                tp, optional = args[0], True
            kind = typing.get_origin(tp) or tp
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            specs.append(_FieldSpec(f.name, kind, optional, required, dict(f.metadata)))
        _SPECS[cls] = specs
    return specs


def _check_value(spec: _FieldSpec, value: Any, ref: str | None) -> Any:
    def bad(why: str) -> ProtocolError:
        return ProtocolError(ErrorCode.BAD_MESSAGE, f"field {spec.name!r} {why}", ref)

    if value is None:
        if spec.optional:
            return None
        raise bad("must not be null")
    kind, meta = spec.kind, spec.meta
    if kind is bool:
        if not isinstance(value, bool):
            raise bad(f"must be a boolean, got {type(value).__name__}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"must be an integer, got {type(value).__name__}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"must be a number, got {type(value).__name__}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise bad("must be a finite number")
    elif kind is str:
        if not isinstance(value, str):
            raise bad(f"must be a string, got {type(value).__name__}")
        if not _is_utf8(value):
            raise bad("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
        if len(value) > meta.get("max", limits.MAX_TEXT_CHARS):
            raise bad(f"is longer than {meta.get('max', limits.MAX_TEXT_CHARS)} characters")
        pattern = meta.get("pattern")
        if pattern is not None and not pattern.fullmatch(value):
            raise bad(f"has an invalid format: {value[:40]!r}")
        if meta.get("sdp"):
            _check_sdp(value, spec.name, ref)
    elif kind is list:
        if not isinstance(value, list):
            raise bad(f"must be a list, got {type(value).__name__}")
        if len(value) > meta.get("max_items", limits.MAX_LIST_ITEMS):
            raise bad(f"has more than {meta.get('max_items', limits.MAX_LIST_ITEMS)} items")
        if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
            raise bad("must be a list of short strings")
        if not all(_is_utf8(v) for v in value):
            raise bad("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
        value = list(value)
    elif kind is dict:
        if not isinstance(value, dict):
            raise bad(f"must be an object, got {type(value).__name__}")
        if len(value) > limits.MAX_HEALTH_ENTRIES:
            raise bad(f"has more than {limits.MAX_HEALTH_ENTRIES} entries")
        for k, v in value.items():
            if not isinstance(v, str) or len(k) > 64 or len(v) > limits.MAX_TEXT_CHARS:
                raise bad("must map short names to strings")
            if not (_is_utf8(k) and _is_utf8(v)):
                raise bad("contains a lone surrogate (\\ud800-\\udfff): not valid Unicode text")
    else:  # pragma: no cover - a programming error in a message class
        raise TypeError(f"unsupported field type {kind!r}")
    if "choices" in meta and kind is not list and value not in meta["choices"]:
        raise bad(f"must be one of {', '.join(meta['choices'])}")
    if "min" in meta and value < meta["min"]:
        raise bad(f"must be at least {meta['min']}")
    if "max" in meta and kind in (int, float) and value > meta["max"]:
        raise bad(f"must be at most {meta['max']}")
    return value


def _is_utf8(text: str) -> bool:
    """JSON may carry lone surrogates (``"\\ud800"``) that no UTF-8 frame can carry on."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_sdp(sdp: str, name: str, ref: str | None) -> None:
    """Cheap structural check so that garbage never reaches a peer's SDP parser."""
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"field {name!r} is not SDP: must start v=0", ref
        )
    for n, line in enumerate(lines, 1):
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, f"field {name!r} is not SDP: line {n} is not type=value", ref
            )
    if not any(line.startswith("m=") for line in lines):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"field {name!r} has no media section", ref)


def parse(data: str | bytes, *, max_bytes: int = limits.MAX_FRAME_BYTES) -> Message:
    """Decode and validate one message; raise :class:`ProtocolError` saying what is wrong."""
    if len(data) > max_bytes:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"message is larger than {max_bytes} bytes")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "not valid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "message must be a JSON object")
    raw_id = obj.get("id")
    ref = raw_id if isinstance(raw_id, str) and ID_RE.fullmatch(raw_id) else None
    version = obj.get("v")
    if version is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing field 'v' (protocol version)", ref)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, "field 'v' (protocol version) must be an integer", ref
        )
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}",
            ref,
        )
    type_ = obj.get("type")
    if type_ is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing field 'type'", ref)
    if not isinstance(type_, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'type' must be a string", ref)
    cls = MESSAGE_TYPES.get(type_)
    if cls is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {type_[:40]!r}", ref)
    if ref is None:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, "field 'id' must be 1-64 letters, digits or ._:-", None
        )
    msg_ref = obj.get("ref")
    if msg_ref is not None and not (isinstance(msg_ref, str) and ID_RE.fullmatch(msg_ref)):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "field 'ref' must be a message id", ref)
    specs = _specs(cls)
    known = set(ENVELOPE_FIELDS) | {s.name for s in specs}
    extra = sorted(k for k in obj if k not in known)
    if extra:
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE,
            f"unexpected field(s) for {type_!r}: {', '.join(repr(e[:40]) for e in extra[:5])}",
            ref,
        )
    values: dict[str, Any] = {"id": raw_id, "ref": msg_ref}
    for spec in specs:
        if spec.name not in obj:
            if spec.required:
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE, f"missing field {spec.name!r} for {type_!r}", ref
                )
            continue
        values[spec.name] = _check_value(spec, obj[spec.name], ref)
    return cls(**values)


def to_dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": msg.TYPE, "id": msg.id}
    if msg.ref is not None:
        out["ref"] = msg.ref
    for f in dataclasses.fields(msg):
        if f.name not in ("id", "ref"):
            out[f.name] = getattr(msg, f.name)
    return out


def encode(msg: Message) -> str:
    return json.dumps(to_dict(msg), separators=(",", ":"), ensure_ascii=False)


def error_reply(exc: ProtocolError) -> Error:
    return Error(code=exc.code, detail=exc.detail, ref=exc.ref)
