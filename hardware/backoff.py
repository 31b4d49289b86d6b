"""Capped exponential backoff with jitter, for reopening lost devices (pure; rng injected)."""

from __future__ import annotations

import random
from collections.abc import Callable

from hardware import limits


class Backoff:
    """``delay(n)`` before the (n+1)-th retry: base * factor**n, capped, then jittered.

    With jitter j the delay is uniformly spread over [(1 - j) * d, d], so that devices
    lost together (a USB hub losing power) do not all retry in the same instant.
    """

    def __init__(
        self,
        *,
        base: float = limits.REOPEN_BACKOFF_BASE_S,
        factor: float = limits.REOPEN_BACKOFF_FACTOR,
        cap: float = limits.REOPEN_BACKOFF_CAP_S,
        jitter: float = limits.REOPEN_JITTER,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not (base > 0 and factor >= 1 and cap >= base and 0 <= jitter <= 1):
            raise ValueError(f"bad backoff: base={base} factor={factor} cap={cap} jitter={jitter}")
        self.base, self.factor, self.cap, self.jitter = base, factor, cap, jitter
        self.rng = rng

    def delay(self, attempt: int) -> float:
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        # Compare exponents rather than computing factor**attempt, which overflows.
        raw = self.cap
        if self.factor == 1 or attempt < 64:
            raw = min(self.cap, self.base * self.factor**attempt)
        return raw * (1 - self.jitter) + raw * self.jitter * self.rng()
