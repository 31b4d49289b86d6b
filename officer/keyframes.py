"""The two rules every track that sends encoded frames it did not encode itself keeps.

* :class:`KeyframeQueue`: a video decoder must start at a keyframe, so frames wait for one
  at the start, after a switch of source, and after the sender fell behind (a broken chain
  of delta frames would smear the picture); the queue is bounded and never grows.
* :class:`Throttle`: keyframe requests to a source are rate-limited, so that one lossy
  receiver cannot turn a shared stream into keyframes.

Used by the booths' return tracks (:mod:`officer.returnmedia`) and the console's tracks
(:mod:`officer.forward`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Throttle:
    """``ready()`` is True at most once every ``interval_s``."""

    def __init__(self, interval_s: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.monotonic = monotonic
        self._last = float("-inf")

    def ready(self) -> bool:
        now = self.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            return True
        return False

    def reset(self) -> None:
        self._last = float("-inf")


class KeyframeQueue(Generic[T]):
    """Frames for a sender, from a keyframe on (see the module's docstring).

    With ``needs_keyframes=False`` (audio: every packet stands alone) only the bound
    applies: a full queue is emptied and filling goes on.
    """

    def __init__(self, maxsize: int, *, needs_keyframes: bool = True) -> None:
        self.needs_keyframes = needs_keyframes
        self.need_keyframe = needs_keyframes
        self.dropped = 0  # times the sender fell behind and the queue was emptied
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize)

    def offer(self, item: T, keyframe: bool) -> bool:
        """Queue ``item``; False when it was refused for want of a keyframe (the caller
        asks its source for one)."""
        if self.need_keyframe:
            if not keyframe:
                return False
            self.need_keyframe = False
        if self._queue.full():
            self.clear()
            self.dropped += 1
            if self.needs_keyframes:
                self.need_keyframe = True
                return False
        self._queue.put_nowait(item)
        return True

    def restart(self) -> None:
        """Another source follows: drop what waits, start again at a keyframe."""
        self.clear()
        self.need_keyframe = self.needs_keyframes

    def clear(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def get(self) -> T:
        return await self._queue.get()
