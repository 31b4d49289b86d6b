"""A booth as the queue sees it: whether it may call, whom it called, who sits in it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class BoothState(enum.StrEnum):
    FREE = "free"  # empty; calls the next ticket unless faulty
    CALLING = "calling"  # a ticket was called here and has not claimed it yet
    OCCUPIED = "occupied"  # a ticket claimed it (with an officer, held, or waiting for one)
    BUSY = "busy"  # occupied without a ticket (participant leaving, cleaning)


@dataclass
class Booth:
    id: str
    label: str
    state: BoothState = BoothState.FREE
    faulty: bool = False
    fault: str = ""
    ticket: str | None = None
    hub: str | None = None  # paired officer hub
    held: bool = False  # parked: occupied, officer slot freed
    waiting_hub_since: float | None = None  # claimed, no officer slot yet
    called_at: float | None = None
    free_since: float = 0.0

    def can_call(self) -> bool:
        return self.state is BoothState.FREE and not self.faulty

    def to_dict(self) -> dict[str, Any]:
        d = dict(vars(self))  # flat fields: no deep copy needed (asdict's is slow at scale)
        d["state"] = self.state.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Booth:
        d = dict(d)
        d["state"] = BoothState(d["state"])
        return cls(**d)
