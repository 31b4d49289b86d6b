"""What the demo has done so far: participants' visits, decisions, and the summary line.

Pure: times come in with the calls, nothing here reads a clock or a socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Visit:
    ticket: str
    number: str
    qr: str
    taken_at: float
    blurry: bool = False
    booth: str = ""
    called_at: float | None = None
    claimed_at: float | None = None  # the ticket's QR was scanned at the booth
    served_at: float | None = None  # the receipt came out of the booth's printer
    reference: str = ""

    @property
    def wait_s(self) -> float | None:
        """From the printed ticket to the number called on the display."""
        return None if self.called_at is None else self.called_at - self.taken_at


@dataclass
class Progress:
    visits: dict[str, Visit] = field(default_factory=dict)  # ticket id -> visit
    decisions: dict[str, int] = field(default_factory=dict)  # outcome -> count
    rescans: int = 0
    refused_tickets: int = 0

    def ticket_taken(self, visit: Visit) -> None:
        self.visits[visit.ticket] = visit

    def decided(self, outcome: str) -> None:
        self.decisions[outcome] = self.decisions.get(outcome, 0) + 1

    def served_visits(self) -> list[Visit]:
        return [v for v in self.visits.values() if v.served_at is not None]

    @property
    def served(self) -> int:
        return len(self.served_visits())

    @property
    def decisions_made(self) -> int:
        return sum(self.decisions.values())

    def waiting(self) -> int:
        """Holding a ticket, not called yet."""
        return sum(1 for v in self.visits.values() if v.called_at is None)

    def in_booths(self) -> int:
        """Seated at a booth (claimed), receipt not printed yet."""
        return sum(1 for v in self.visits.values()
                   if v.claimed_at is not None and v.served_at is None)

    def mean_wait_s(self) -> float | None:
        waits = [w for v in self.served_visits() if (w := v.wait_s) is not None]
        return round(sum(waits) / len(waits), 1) if waits else None

    def summary(self, elapsed_s: float) -> dict[str, Any]:
        return {
            "event": "summary",
            "served": self.served,
            "decisions": self.decisions_made,
            "outcomes": dict(sorted(self.decisions.items())),
            "rescans": self.rescans,
            "tickets": len(self.visits),
            "mean_wait_s": self.mean_wait_s(),
            "elapsed_s": round(elapsed_s, 1),
        }

    def report(self, elapsed_s: float) -> dict[str, Any]:
        return {
            "event": "progress",
            "elapsed_s": round(elapsed_s, 1),
            "served": self.served,
            "waiting": self.waiting(),
            "in_session": self.in_booths(),
            "decisions": self.decisions_made,
            "rescans": self.rescans,
            "mean_wait_s": self.mean_wait_s(),
        }


def progress_text(report: dict[str, Any]) -> str:
    wait = report["mean_wait_s"]
    return (f"[{report['elapsed_s']:6.0f} s] served {report['served']} · waiting "
            f"{report['waiting']} · in booths {report['in_session']} · decisions "
            f"{report['decisions']} (rescans asked {report['rescans']}) · mean wait "
            + ("–" if wait is None else f"{wait:.0f} s"))


def summary_line(summary: dict[str, Any]) -> str:
    """The demo's last line on stdout: one JSON object (see docs/demo.md)."""
    return json.dumps(summary, sort_keys=False)
