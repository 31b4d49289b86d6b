"""Which booth talks to which hub: the pairing book, without I/O.

Hubs announce how many booths they take (``Capacity.slots``); the load of a hub is
the number of its active pairings. A booth asking for service is paired with the
least-loaded online hub that has a free slot (ties broken by the most free slots,
then by id, so the choice is deterministic), or waits in arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling import limits
from signaling import protocol as p


@dataclass
class HubState:
    id: str
    slots: int = 0
    online: bool = True
    booths: set[str] = field(default_factory=set)

    @property
    def free(self) -> int:
        return max(0, min(self.slots, limits.MAX_HUB_SLOTS) - len(self.booths))


@dataclass(frozen=True)
class Pairing:
    id: str
    booth: str
    hub: str
    ticket: str = ""  # the queue ticket served; empty for a pairing made outside the queue
    number: str = ""
    service: str = ""


class PairingBook:
    """Live pairings, hub capacities and the booths waiting for a hub."""

    def __init__(self) -> None:
        self.hubs: dict[str, HubState] = {}
        self.pairings: dict[str, Pairing] = {}
        self.by_booth: dict[str, str] = {}
        self.waiting: list[str] = []

    # -- hubs -----------------------------------------------------------------------------

    def hub(self, hub_id: str) -> HubState:
        state = self.hubs.get(hub_id)
        if state is None:
            state = self.hubs[hub_id] = HubState(hub_id, online=False)
        return state

    def set_capacity(self, hub_id: str, slots: int) -> None:
        self.hub(hub_id).slots = max(0, min(slots, limits.MAX_HUB_SLOTS))

    def set_online(self, hub_id: str, online: bool) -> None:
        self.hub(hub_id).online = online

    def choose_hub(self) -> str | None:
        best: tuple[int, int, str] | None = None  # (load, -free, id): one pass, no lists
        for h in self.hubs.values():
            if not h.online:
                continue
            load = len(h.booths)
            free = min(h.slots, limits.MAX_HUB_SLOTS) - load
            if free > 0 and (best is None or (load, -free, h.id) < best):
                best = (load, -free, h.id)
        return best[2] if best is not None else None

    # -- pairings -------------------------------------------------------------------------

    def add(self, pairing: Pairing) -> None:
        if pairing.booth in self.by_booth:
            raise ValueError(f"booth {pairing.booth} is already paired")
        self.pairings[pairing.id] = pairing
        self.by_booth[pairing.booth] = pairing.id
        self.hub(pairing.hub).booths.add(pairing.booth)
        if pairing.booth in self.waiting:
            self.waiting.remove(pairing.booth)

    def remove(self, pairing_id: str) -> Pairing | None:
        pairing = self.pairings.pop(pairing_id, None)
        if pairing is None:
            return None
        self.by_booth.pop(pairing.booth, None)
        hub = self.hubs.get(pairing.hub)
        if hub is not None:
            hub.booths.discard(pairing.booth)
        return pairing

    def of_booth(self, booth_id: str) -> Pairing | None:
        pid = self.by_booth.get(booth_id)
        return self.pairings.get(pid) if pid else None

    def of_device(self, device_id: str) -> list[Pairing]:
        return [p for p in self.pairings.values() if device_id in (p.booth, p.hub)]

    def counterpart(self, pairing_id: str, device_id: str) -> str | None:
        """The other side of ``pairing_id`` if ``device_id`` is one side of it, else None."""
        pairing = self.pairings.get(pairing_id)
        if pairing is None:
            return None
        if device_id == pairing.booth:
            return pairing.hub
        if device_id == pairing.hub:
            return pairing.booth
        return None

    def wait(self, booth_id: str) -> int:
        """Queue a booth for the next free hub; returns its 1-based position."""
        if booth_id not in self.waiting:
            self.waiting.append(booth_id)
        return self.waiting.index(booth_id) + 1

    def stop_waiting(self, booth_id: str) -> None:
        if booth_id in self.waiting:
            self.waiting.remove(booth_id)


def pair_message(pairing: Pairing) -> p.Pair:
    """What both sides of a pairing are told (it carries the ticket, if any)."""
    return p.Pair(pairing=pairing.id, booth=pairing.booth, hub=pairing.hub,
                  ticket=pairing.ticket, number=pairing.number, service=pairing.service)
