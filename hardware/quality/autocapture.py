"""Auto-capture: take the document once enough consecutive frames pass the gate.

A state machine fed one verdict per frame (pure: no clock, no camera). While frames pass it
counts; any rejection starts the count again; at ``n_consecutive`` it returns the capture,
the sharpest document of the passing run, and stays CAPTURED (returning nothing more)
until :meth:`AutoCapture.reset`, so one card is captured once.

    auto = AutoCapture(5)
    for frame in frames:
        capture = auto.feed(judge(frame))
        show(auto.guidance.both())
        if capture: upload(capture.document)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from bilik.catalogue import Message, text
from hardware.quality import limits
from hardware.quality.gate import Verdict


class CaptureState(enum.Enum):
    SEARCHING = "searching"  # the last frame did not pass
    STEADYING = "steadying"  # passing, not yet for long enough
    CAPTURED = "captured"  # done; waiting for reset()


@dataclass(frozen=True)
class Capture:
    """The chosen frame's document straightened at the camera's own resolution (at most
    ``CAPTURE_PX_PER_MM_MAX``), its verdict, and how many frames passed."""

    document: np.ndarray
    verdict: Verdict
    frames: int


class AutoCapture:
    def __init__(self, n_consecutive: int = limits.AUTO_CAPTURE_FRAMES) -> None:
        if n_consecutive < 1:
            raise ValueError(f"n_consecutive must be at least 1, got {n_consecutive}")
        self.n_consecutive = n_consecutive
        self.state = CaptureState.SEARCHING
        self.streak = 0
        self.last: Verdict | None = None
        self._best: Verdict | None = None
        self.capture: Capture | None = None

    def reset(self) -> None:
        """Forget the run and any capture: ready for the next document."""
        self.state = CaptureState.SEARCHING
        self.streak = 0
        self.last = None
        self._best = None
        self.capture = None

    def feed(self, verdict: Verdict) -> Capture | None:
        """Take one frame's verdict; returns the :class:`Capture` on the frame that completes
        the run, ``None`` otherwise (and always ``None`` once captured, until reset)."""
        if self.state is CaptureState.CAPTURED:
            return None
        self.last = verdict
        if not verdict.passed or verdict.document is None:
            self.state = CaptureState.SEARCHING
            self.streak = 0
            self._best = None
            return None
        self.streak += 1
        self.state = CaptureState.STEADYING
        if self._best is None or _sharpness(verdict) > _sharpness(self._best):
            self._best = verdict
        if self.streak < self.n_consecutive:
            return None
        best = self._best
        self.capture = Capture(best.capture_image(), best, self.streak)
        self.state = CaptureState.CAPTURED
        return self.capture

    @property
    def guidance(self) -> Message:
        """What to show now: the rejection's advice, "hold still", or "captured"."""
        if self.state is CaptureState.CAPTURED:
            return text("quality.captured")
        if self.state is CaptureState.STEADYING:
            return text("quality.hold_still")
        if self.last is None:
            return text("quality.no_document")
        return self.last.guidance


def _sharpness(verdict: Verdict) -> float:
    return verdict.scores.get("sharpness", 0.0)
