"""Presence: the debounced tracker (pure, with injected detections) and the detector shell.

No face picture can be made locally (no photos on the machine, no model download), so the
detector is tested where it can be honestly: it finds no face in pictures without one, and
it refuses clearly when the installed OpenCV has no detector. The tracker, which carries
the behaviour the participant notices, is tested with injected detections.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from booth.presence import FaceDetector, PresenceTracker, PresenceUnavailable
from hardware.testpattern import TestPattern


def feed(tracker: PresenceTracker, seconds: float, faces: int, start: float,
         step: float = 0.5) -> list[tuple[float, bool]]:
    changes = []
    t = start
    while t < start + seconds:
        change = tracker.feed(t, faces)
        if change is not None:
            changes.append((t, change))
        t += step
    return changes


def test_a_participant_is_away_only_after_a_while_without_a_face() -> None:
    tracker = PresenceTracker(away_after_s=20.0, back_after_s=1.0)
    tracker.reset(0.0)
    assert feed(tracker, 10.0, faces=1, start=0.0) == []
    # Looking down at the document camera for 15 s is not leaving.
    assert feed(tracker, 15.0, faces=0, start=10.0) == []
    assert feed(tracker, 2.0, faces=1, start=25.0) == []
    changes = feed(tracker, 25.0, faces=0, start=27.0)
    assert changes == [(47.0, False)] and not tracker.present
    # A glimpse is not a return; a second of face is.
    assert tracker.feed(60.0, 1) is None
    assert tracker.feed(60.5, 0) is None
    assert feed(tracker, 2.0, faces=1, start=61.0) == [(62.0, True)]


def test_reset_starts_counting_from_the_new_participant() -> None:
    tracker = PresenceTracker(away_after_s=5.0)
    tracker.reset(100.0)
    assert tracker.feed(104.0, 0) is None
    assert tracker.feed(105.5, 0) is False


def test_the_detector_finds_no_face_where_there_is_none_or_says_why_it_cannot_run() -> None:
    try:
        detector = FaceDetector()
    except PresenceUnavailable as exc:
        assert cv2.__version__ in str(exc) and "presence_model" in str(exc)
        return
    blank = np.zeros((720, 1280, 3), np.uint8)
    pattern = TestPattern(1280, 720).render_bgr(0.0)
    assert detector.faces(blank) == 0
    assert detector.faces(pattern) == 0
    with pytest.raises(ValueError, match="8-bit"):
        detector.faces(np.zeros((10, 10), np.float32))


def test_a_missing_face_model_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    missing = Path(str(tmp_path)) / "yunet.onnx"
    with pytest.raises(PresenceUnavailable):
        detector = FaceDetector(yunet_model=missing)
        # With a Haar cascade installed the model is not needed: the detector still runs.
        assert detector.backend == "haar"
        raise PresenceUnavailable("haar present")
