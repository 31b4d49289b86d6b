"""The resume window: a device that went away has this long to come back to its pairings.

One timer per device; when it runs out the server releases the device's pairings and runs its
offline hooks (:meth:`signaling.server.BranchServer._expire`). A device back in time cancels
its timer (its welcome says ``resumed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ResumeWindow:
    def __init__(self, window_s: float, on_expire: Callable[[str], object]) -> None:
        self.window_s = window_s
        self._on_expire = on_expire
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def start(self, device: str) -> None:
        """The device went away: its window starts (again)."""
        self.cancel(device)
        loop = asyncio.get_running_loop()
        self._timers[device] = loop.call_later(self.window_s, self._on_expire, device)

    def cancel(self, device: str) -> bool:
        """The device is back: whether its window was still open (or just ran out)."""
        handle = self._timers.pop(device, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def forget(self, device: str) -> None:
        """The window's end is being handled: it is no longer open."""
        self._timers.pop(device, None)

    def clear(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
