"""The protocol's shared vocabulary: the enums (and the one table) that devices and the branch
server both speak. The agents import them from :mod:`signaling.protocol`, never from the
server's features or its queue core, which import them from here too."""

from __future__ import annotations

import enum

from bilik.devicehealth import DeviceHealth

__all__ = [
    "DEFAULT_SERVICES",
    "OUTCOME_CODES",
    "DeviceHealth",
    "DocumentStatus",
    "ErrorCode",
    "Outcome",
    "Priority",
    "ReleaseReason",
    "Role",
]


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


class Priority(enum.StrEnum):
    """Who goes ahead of the walk-in queue (chosen at the kiosk)."""

    NONE = "none"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"


class Outcome(enum.StrEnum):
    """How the officer closed a case (a decision's outcome code)."""

    APPROVED = "approved"
    REJECTED_DOCUMENTS = "rejected_documents"
    INCOMPLETE = "incomplete"
    REFERRED = "referred"


OUTCOME_CODES: tuple[str, ...] = tuple(o.value for o in Outcome)


class DocumentStatus(enum.StrEnum):
    """Where a scanned document stands; the hub sets the last three."""

    UPLOADED = "uploaded"
    ACCEPTED = "accepted"
    RESCAN = "rescan"
    REJECTED = "rejected"
    DELETED = "deleted"


# The services the branch offers by default, each with its ticket letter.
DEFAULT_SERVICES = {
    "jht": "A",  # old-age savings (Jaminan Hari Tua): about 95 % of claims
    "jkk": "B",  # work-accident benefit
    "jkm": "C",  # death benefit
    "jp": "D",  # pension
}
