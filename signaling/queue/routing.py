"""Officer hubs and the choice of a hub for a booth: by skill, least loaded, sticky.

A hub is one officer's console. It takes booths up to its announced capacity, never more than
:data:`limits.MAX_BOOTHS_PER_HUB`. The choice prefers the ticket's previous officer (a moved or
resumed session goes back to the officer who knows it), then the hub with the fewest booths,
then the one whose officer is not attending anyone, then the one paired longest ago.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from signaling.queue import limits


@dataclass
class Hub:
    id: str
    skills: list[str]
    capacity: int
    officer: str = ""
    online: bool = True
    booths: list[str] = field(default_factory=list)
    focus: str | None = None
    focus_since: float | None = None
    last_paired_at: float = 0.0

    def has_room(self) -> bool:
        return self.online and len(self.booths) < min(self.capacity, limits.MAX_BOOTHS_PER_HUB)

    def serves(self, service: str) -> bool:
        return self.online and service in self.skills

    def to_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["skills"], d["booths"] = list(self.skills), list(self.booths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hub:
        return cls(**d)


def choose_hub(
    hubs: Iterable[Hub],
    service: str,
    *,
    prefer: str | None = None,
    exclude: str | None = None,
    idle_only: bool = False,
) -> Hub | None:
    """The hub a booth with a ``service`` ticket should be paired with, or None if none has room."""
    candidates = [
        h
        for h in hubs
        if h.id != exclude
        and h.serves(service)
        and h.has_room()
        and (not idle_only or h.focus is None)
    ]
    if not candidates:
        return None
    for h in candidates:
        if h.id == prefer:
            return h
    return min(
        candidates, key=lambda h: (len(h.booths), h.focus is not None, h.last_paired_at, h.id)
    )
