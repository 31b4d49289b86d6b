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

It is three modules behind this one: :mod:`signaling.protocol_enums` (the vocabulary the agents
share with the server: roles, error codes, release reasons, ticket priority, outcome codes,
document status, device health, the default services), :mod:`signaling.protocol_codec` (the
envelope, :func:`parse`, :func:`encode`) and :mod:`signaling.protocol_messages` (one dataclass
per message type). Import them from here.
"""

from __future__ import annotations

from signaling.protocol_codec import (  # noqa: F401
    DEVICE_ID_RE,
    ENVELOPE_FIELDS,
    ID_RE,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Message,
    _specs,
    encode,
    new_id,
    parse,
    register,
    text_field,
    to_dict,
)
from signaling.protocol_enums import (
    DEFAULT_SERVICES,
    OUTCOME_CODES,
    DeviceHealth,
    DocumentStatus,
    ErrorCode,
    Outcome,
    Priority,
    ReleaseReason,
    Role,
)
from signaling.protocol_messages import (
    RELAYED,
    Alert,
    Answer,
    Attention,
    BoothReady,
    Called,
    Capacity,
    CheckIn,
    Claim,
    Cleared,
    Consent,
    Decision,
    DocRequest,
    DocUpdate,
    Error,
    Focus,
    Hand,
    Hello,
    Ice,
    Offer,
    OfficerSignIn,
    Ok,
    Pair,
    Park,
    Receipt,
    Release,
    Seat,
    ServiceRequest,
    SessionEnd,
    Status,
    TicketInfo,
    TicketRequest,
    Transfer,
    Verdict,
    Waiting,
    Welcome,
    error_reply,
)

__all__ = [
    "DEFAULT_SERVICES",
    "DEVICE_ID_RE",
    "ENVELOPE_FIELDS",
    "ID_RE",
    "MESSAGE_TYPES",
    "OUTCOME_CODES",
    "PROTOCOL_VERSION",
    "RELAYED",
    "Alert",
    "Answer",
    "Attention",
    "BoothReady",
    "Called",
    "Capacity",
    "CheckIn",
    "Claim",
    "Cleared",
    "Consent",
    "Decision",
    "DeviceHealth",
    "DocRequest",
    "DocUpdate",
    "DocumentStatus",
    "Error",
    "ErrorCode",
    "Focus",
    "Hand",
    "Hello",
    "Ice",
    "Message",
    "Offer",
    "OfficerSignIn",
    "Ok",
    "Outcome",
    "Pair",
    "Park",
    "Priority",
    "Receipt",
    "Release",
    "ReleaseReason",
    "Role",
    "Seat",
    "ServiceRequest",
    "SessionEnd",
    "Status",
    "TicketInfo",
    "TicketRequest",
    "Transfer",
    "Verdict",
    "Waiting",
    "Welcome",
    "encode",
    "error_reply",
    "new_id",
    "parse",
    "register",
    "text_field",
    "to_dict",
]
