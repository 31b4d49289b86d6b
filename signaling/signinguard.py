"""Wrong PINs at a hub: five within the window lock that hub's sign-in for a while.

Pure (time passed in). The lock is per hub, as the officers' sign-in has always been: a
person trying PINs at one hub is stopped there, whichever officer ids they try; the ids
tried are kept with the lock so that the manager sees whose account was being guessed
(``GET /api/officers``, :mod:`signaling.officerlist`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SIGN_IN_FAILURES = 5  # wrong PINs from one hub within the window before it is locked out
SIGN_IN_WINDOW_S = 300.0
SIGN_IN_LOCKOUT_S = 300.0


@dataclass
class SignInGuard:
    """Counts wrong PINs per hub and locks a hub out after too many (pure; time passed in)."""

    failures: dict[str, list[float]]
    locked_until: dict[str, float]
    # The officer ids tried at each hub in its current spell (shown with the lock).
    tried: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def new(cls) -> SignInGuard:
        return cls({}, {})

    def locked(self, hub: str, now: float) -> float:
        """Seconds the hub is still locked out (0: not locked)."""
        return max(0.0, self.locked_until.get(hub, 0.0) - now)

    def failed(self, hub: str, now: float, officer: str = "") -> bool:
        """Count a wrong PIN; True when this one locked the hub."""
        recent = [t for t in self.failures.get(hub, []) if now - t < SIGN_IN_WINDOW_S]
        recent.append(now)
        self.failures[hub] = recent
        tried = self.tried.setdefault(hub, [])
        if officer and officer not in tried:
            tried.append(officer)
        if len(recent) >= SIGN_IN_FAILURES:
            self.locked_until[hub] = now + SIGN_IN_LOCKOUT_S
            self.failures[hub] = []
            return True
        return False

    def locks(self, now: float) -> list[dict[str, Any]]:
        """The hubs locked out now, with the officer ids tried there (the manager's view)."""
        return [{"hub": hub, "seconds_left": round(until - now, 1),
                 "officers_tried": list(self.tried.get(hub, []))}
                for hub, until in sorted(self.locked_until.items()) if until > now]

    def succeeded(self, hub: str) -> None:
        self.failures.pop(hub, None)
        self.tried.pop(hub, None)
