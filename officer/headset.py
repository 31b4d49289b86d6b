"""Where the focused booth's voice goes: the officer's headset.

Only the focused booth is heard; every other booth's audio is still consumed (for the
"speaking" mark) but goes nowhere. :class:`CountingHeadset` is the null output used in
tests, the bench and the demo: it plays nothing and counts the samples delivered per
booth, which proves the routing. A real device output plugs in behind the same method.
"""

from __future__ import annotations

from typing import Protocol

import av


class Headset(Protocol):
    def play(self, booth: str, frame: av.AudioFrame) -> None: ...

    def close(self) -> None: ...


class CountingHeadset:
    """A silent headset that counts what it was given, per booth."""

    def __init__(self) -> None:
        self.samples: dict[str, int] = {}

    def play(self, booth: str, frame: av.AudioFrame) -> None:
        self.samples[booth] = self.samples.get(booth, 0) + frame.samples

    def close(self) -> None:
        pass
