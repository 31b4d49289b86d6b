"""A bounded queue that drops the oldest item when full, for handing frames between threads.

A camera produces frames at its own pace whether or not anyone reads them. If the reader
(an encoder, the quality gate) falls behind, the stale frames are worth nothing: the queue
keeps the newest ``maxsize`` and counts what it dropped, so memory stays bounded and the
reader always gets recent frames.

Readers may be threads (:meth:`DropOldestQueue.get`) or asyncio tasks
(:meth:`DropOldestQueue.get_async`); the producer wakes asyncio readers with
``call_soon_threadsafe``, so no event loop ever blocks on the queue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from typing import Generic, TypeVar

from hardware.errors import SourceEnded

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    """Thread-safe bounded FIFO; :meth:`put` never blocks and evicts the oldest item."""

    def __init__(self, maxsize: int, *, name: str = "queue") -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.name = name
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closed = False
        self._reason = "closed"
        self.put_count = 0
        self.dropped = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: T) -> None:
        """Add ``item``; when full, the oldest item is dropped and counted in :attr:`dropped`.

        Putting into a closed queue is ignored (the producer is winding down).
        """
        with self._cond:
            if self._closed:
                return
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._cond.notify()
            self._wake_async()

    def close(self, reason: str = "closed") -> None:
        """Refuse further items; readers get what is left, then :class:`SourceEnded`."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._reason = reason
            self._cond.notify_all()
            self._wake_async()

    def get_nowait(self) -> T | None:
        """The oldest item, or ``None`` when empty; raises :class:`SourceEnded` once closed
        and drained."""
        with self._cond:
            return self._pop()

    def get(self, timeout: float | None = None) -> T:
        """Block (in a thread, never in an event loop) until an item comes.

        Raises :class:`TimeoutError` after ``timeout`` seconds, :class:`SourceEnded` once the
        queue is closed and drained.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._pop()
                if item is not None:
                    return item
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{self.name}: no item within {timeout} s")
                self._cond.wait(remaining)

    async def get_async(self) -> T:
        """Wait in the event loop until an item comes; cancellation is safe."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                item = self._pop()
                if item is not None:
                    return item
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            try:
                await future
            finally:
                with self._cond:
                    if (loop, future) in self._waiters:
                        self._waiters.remove((loop, future))

    # -- internals (called with the lock held) --------------------------------------------

    def _pop(self) -> T | None:
        if self._items:
            return self._items.popleft()
        if self._closed:
            raise SourceEnded(f"{self.name}: {self._reason}")
        return None

    def _wake_async(self) -> None:
        waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed; its reader is gone
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
