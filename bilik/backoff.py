"""Capped exponential backoff with jitter: one for every part that retries (pure; rng injected).

The signaling client reconnecting to the branch server, the booth's document uploader, the
hardware registry reopening a lost device and the agents' serial devices all wait
``base * factor**n`` before the (n+1)-th retry, capped at ``cap``, then jittered: with jitter
``j`` the delay is spread uniformly over ``[(1 - j) * d, d]``, so that what was lost together
(30 booths after a server restart, devices on a USB hub that lost power) does not retry in
the same instant.

:meth:`Backoff.delay` is a pure function of the attempt; :meth:`Backoff.next_delay` and
:meth:`Backoff.reset` count the attempts for a caller that retries in a loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        base: float,
        cap: float,
        *,
        factor: float = 2.0,
        jitter: float = 0.5,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not (base > 0 and factor >= 1 and cap >= base and 0 <= jitter <= 1):
            raise ValueError(
                f"bad backoff: needs 0 < base <= cap, factor >= 1 and 0 <= jitter <= 1 "
                f"(base={base} cap={cap} factor={factor} jitter={jitter})"
            )
        self.base, self.cap, self.factor, self.jitter = base, cap, factor, jitter
        self.rand = rand
        self.attempt = 0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (0: the first retry)."""
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        # Past 64 doublings every delay is the cap; factor**attempt would overflow.
        raw = self.cap
        if self.factor == 1 or attempt < 64:
            raw = min(self.cap, self.base * self.factor**attempt)
        return raw * (1 - self.jitter) + raw * self.jitter * self.rand()

    def next_delay(self) -> float:
        """The delay of the next attempt, counting it."""
        delay = self.delay(self.attempt)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from ``base`` (the last attempt succeeded)."""
        self.attempt = 0
