"""Event-loop lag watchdog: how late the loop runs a callback that was due.

Per-frame work that blocks the loop (a decode, a large copy) delays every peer's RTP
and RTCP handling at once; this makes that visible. A task sleeps for a fixed interval
and measures how much later than asked it woke up. Lag above a threshold is counted,
reported through ``on_lag`` (a metric) and logged at most once per period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bilik.webrtc import limits

log = logging.getLogger(__name__)


class LoopLagMonitor:
    def __init__(
        self,
        *,
        interval_s: float = limits.LOOP_LAG_INTERVAL_S,
        warn_s: float = limits.LOOP_LAG_WARN_S,
        on_lag: Callable[[float], None] | None = None,
        name: str = "loop-lag",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self.warn_s = warn_s
        self.on_lag = on_lag
        self.name = name
        self.clock = clock
        self.last_lag_s = 0.0
        self.max_lag_s = 0.0
        self.over_threshold = 0
        self.samples = 0
        self._last_log = -float("inf")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def record(self, lag_s: float) -> None:
        """Account one probe (public so the accounting is testable without a slow loop)."""
        lag_s = max(0.0, lag_s)
        self.samples += 1
        self.last_lag_s = lag_s
        self.max_lag_s = max(self.max_lag_s, lag_s)
        if self.on_lag is not None:
            self.on_lag(lag_s)
        if lag_s > self.warn_s:
            self.over_threshold += 1
            now = self.clock()
            if now - self._last_log >= limits.LOOP_LAG_LOG_EVERY_S:
                self._last_log = now
                log.warning(
                    "event loop lagging",
                    extra={
                        "fields": {
                            "lag_ms": round(lag_s * 1000, 1),
                            "threshold_ms": round(self.warn_s * 1000, 1),
                            "times_over": self.over_threshold,
                        }
                    },
                )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.record(loop.time() - due)
