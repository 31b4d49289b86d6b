"""Giving memory back to the system after a spell of many connections.

Measured (docs/reliability.md, defect 11 of issue 15): after rounds of hundreds of
connections opening and closing, the branch server holds no more Python objects, tasks
or sockets than before (tracemalloc: +0.6 MB), but its resident memory stays near the
peak, because the C allocator keeps freed pages for reuse. That is not a leak (it
plateaus), but a branch server that saw one burst would hold the burst's memory all day.
:class:`HeapTrimmer` asks glibc to return free pages (``malloc_trim``) once the number of
open connections has fallen to half its peak, by at least :data:`TRIM_AFTER_DROP`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_AFTER_DROP = 100  # connections closed since the peak before memory is given back


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None
    return trim


class HeapTrimmer:
    def __init__(self, *, after_drop: int = TRIM_AFTER_DROP,
                 trim: Callable[[int], int] | bool | None = True) -> None:
        self.after_drop = after_drop
        self._trim = _malloc_trim() if trim is True else (trim or None)
        self.peak = 0
        self.trims = 0

    def connections(self, open_now: int) -> None:
        """Note how many connections are open; trims when a spell of them has ended."""
        if open_now > self.peak:
            self.peak = open_now
            return
        if self.peak - open_now >= self.after_drop and open_now * 2 <= self.peak:
            log.debug("returning free memory", extra={"fields": {
                "peak": self.peak, "open": open_now}})
            self.peak = open_now
            if self._trim is not None:
                self._trim(0)
                self.trims += 1
