"""A device fault at a booth where a participant sits: the session finishes first.

The booth itself keeps a participant's session when a device fails under it and leaves
service only after the goodbye (``booth/state.py``, ``DeviceFailed``). The queue does the
same: a fault reported while the booth's ticket is claimed (someone seated, with an officer,
parked or waiting for one) is held here, the officer is told at once (``Alert`` of kind
``device_fault``), and the queue hears of the fault (``BoothFaulty``: no more calls to the
booth) when the session ends, or at the booth's next report if that comes first. A fault
while nobody is there (the booth free, or a ticket called and still walking there) goes to
the queue at once, which moves that ticket to another booth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signaling import protocol as p

ALERT_KIND = "device_fault"


@dataclass
class SessionFaults:
    """Faults held until the session at their booth ends (pure bookkeeping)."""

    held: dict[str, str] = field(default_factory=dict)  # booth -> fault reason

    def hold(self, booth: str, reason: str) -> bool:
        """Keep ``reason`` for ``booth``; True if the officer has not been told of it yet."""
        new = self.held.get(booth) != reason
        self.held[booth] = reason
        return new

    def recovered(self, booth: str) -> None:
        self.held.pop(booth, None)

    def session_over(self, booth: str) -> str | None:
        """The fault held for ``booth``, now due to the queue (None: none held)."""
        return self.held.pop(booth, None)


def officer_alert(booth: str, reason: str, ticket: str) -> p.Alert:
    """What the officer serving ``booth`` is told (``detail``: the reason first)."""
    return p.Alert(kind=ALERT_KIND, subject=booth, ticket=ticket,
                   detail=f"{reason}; the session goes on, the booth leaves service after it")
