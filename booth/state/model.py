"""The booth's state: :class:`Booth` (frozen; a transition returns a new one), its flow
states, its documents, and the two flows a booth can run (:class:`Flow`)."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any


class Flow(enum.StrEnum):
    """How a participant reaches an officer (the booth's ``flow`` setting)."""

    TICKET = "ticket"  # production: a ticket QR (or booking code) claimed through the queue
    DIRECT = "direct"  # demo, call benchmark: any officer, asked for at once and again


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
