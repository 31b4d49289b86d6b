"""One device's health and when to try it again: the reopen-with-backoff bookkeeping, once.

Every part that keeps a device open keeps one :class:`DeviceKeeper` per device: the hardware
registry per role (:mod:`hardware.registry`), the kiosk for its ticket printer and scanner
(:mod:`frontdesk.kiosk`), the queue display for its pole and LED outputs
(:mod:`frontdesk.queue_display`). It holds the device's :class:`bilik.devicehealth.DeviceHealth`,
the detail and hint of its last fault, how many attempts failed in a row, and the clock time
before which a reopen is not tried (capped exponential backoff, :class:`bilik.backoff.Backoff`).
It does no I/O and reads only the clock it is given: the shell that owns the device opens,
writes and closes, and tells the keeper what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bilik.backoff import Backoff
from bilik.devicehealth import DeviceHealth


class DeviceKeeper:
    """Health and retry time of one device.

    :meth:`ok` after the device worked, :meth:`failed` after it failed (the next attempt is
    backed off), :meth:`gone` when it is not there at all (the next attempt is at once,
    whenever it comes back). Each returns whether the health or detail changed, so that the
    caller logs and reports changes only.
    """

    def __init__(
        self,
        name: str,
        backoff: Backoff,
        *,
        clock: Callable[[], float] = time.monotonic,
        health: DeviceHealth = DeviceHealth.ABSENT,
        detail: str = "",
    ) -> None:
        self.name = name
        self.backoff = backoff  # only its pure delay(attempt) is used: keepers may share one
        self.clock = clock
        self.health = health
        self.detail = detail
        self.hint = ""
        self.attempts = 0  # failed attempts in a row
        self.retry_at = 0.0  # clock time before which no reopen is tried
        self.since = clock()  # clock time of the last change of health or detail

    def due(self) -> bool:
        """May the device be (re)opened now?"""
        return self.clock() >= self.retry_at

    def wait_s(self) -> float:
        """Seconds until the next attempt is due (0: now)."""
        return max(0.0, self.retry_at - self.clock())

    def ok(self) -> bool:
        """The device worked: healthy, and the backoff starts again from its base."""
        self.attempts, self.retry_at = 0, 0.0
        return self._set(DeviceHealth.OK, "", "")

    def failed(
        self, detail: str, *, health: DeviceHealth = DeviceHealth.ERROR, hint: str = ""
    ) -> bool:
        """The device failed (would not open, or failed in use): try again after a backoff."""
        now = self.clock()
        self.attempts += 1
        self.retry_at = now + self.backoff.delay(self.attempts - 1)
        return self._set(health, detail, hint)

    def gone(
        self, detail: str, *, health: DeviceHealth = DeviceHealth.ABSENT, hint: str = ""
    ) -> bool:
        """The device is not there: no backoff, it is opened at once when it comes back."""
        self.attempts, self.retry_at = 0, 0.0
        return self._set(health, detail, hint)

    def _set(self, health: DeviceHealth, detail: str, hint: str) -> bool:
        changed = (health, detail) != (self.health, self.detail)
        self.health, self.detail, self.hint = health, detail, hint
        if changed:
            self.since = self.clock()
        return changed
