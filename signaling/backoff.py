"""Capped exponential backoff with jitter, a pure function of the attempt and a random source."""

from __future__ import annotations

import random
from collections.abc import Callable

from signaling import limits


class Backoff:
    """Delays of ``base * 2**n`` capped at ``cap``, each scaled by a random factor in [0.5, 1)."""

    def __init__(
        self,
        base: float = limits.RECONNECT_MIN_S,
        cap: float = limits.RECONNECT_MAX_S,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.rand = rand
        self.attempt = 0

    def next_delay(self) -> float:
        raw = min(self.cap, self.base * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        # Jitter spreads a branch's 30 booths apart after the server restarts.
        return raw * (0.5 + 0.5 * self.rand())

    def reset(self) -> None:
        self.attempt = 0
