"""Presence: the face detector on real faces in synthetic booth-camera frames, and the pure
away/back tracker.

The faces are real photographs (tests/data/faces/README.md: a NASA portrait, public
domain, and a CC0 profile), pasted into 640x480 frames of an empty booth: a plain wall
with sensor noise, a brick wall (a real photograph too), or the moving test pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from booth import limits
from booth.presence import (
    FRONTAL_CASCADE,
    Face,
    FaceDetector,
    FaceView,
    PresenceTracker,
    PresenceUnavailable,
)
from hardware.testpattern import TestPattern

FACES = Path(__file__).parent.parent / "data" / "faces"
WIDTH, HEIGHT = 640, 480
# The centre (x, y) and side of the face in each picture, in its own pixels (checked by eye).
ASTRONAUT_FACE = (160, 115)
ASTRONAUT_FACE_PX = 95
CAMERAMAN_FACE = (126, 132)
CAMERAMAN_FACE_PX = 82


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(FACES / name))
    assert image is not None, name
    return image


ASTRONAUT = load("astronaut.jpg")
CAMERAMAN = load("cameraman.jpg")


def plain_wall(seed: int = 0) -> np.ndarray:
    """An empty booth: a lit wall, brighter at the bottom, with a camera's noise."""
    rng = np.random.default_rng(seed)
    shade = np.linspace(150.0, 200.0, HEIGHT)[:, None, None]
    wall = np.broadcast_to(shade, (HEIGHT, WIDTH, 3)) * np.array([0.9, 1.0, 1.05])
    return np.clip(wall + rng.normal(0.0, 4.0, wall.shape), 0, 255).astype(np.uint8)


def brick_wall() -> np.ndarray:
    return cv2.resize(load("brick.jpg"), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)


def pattern_frame(t: float = 3.0) -> np.ndarray:
    return TestPattern(WIDTH, HEIGHT).render_bgr(t)


BACKGROUNDS = {"plain wall": plain_wall, "brick wall": brick_wall, "test pattern": pattern_frame}


def seated(person: np.ndarray, background: np.ndarray, *, scale: float = 1.0,
           centre_x: int = WIDTH // 2, face: tuple[int, int] = ASTRONAUT_FACE,
           ) -> tuple[np.ndarray, tuple[int, int]]:
    """``person`` pasted at the bottom of ``background`` (cut at the frame's edges); returns
    the frame and where the face's centre landed in it."""
    picture = cv2.resize(person, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    h, w = picture.shape[:2]
    x0, y0 = centre_x - w // 2, HEIGHT - h
    frame = background.copy()
    left, top = max(0, x0), max(0, y0)
    right, bottom = min(WIDTH, x0 + w), min(HEIGHT, y0 + h)
    frame[top:bottom, left:right] = picture[top - y0:bottom - y0, left - x0:right - x0]
    return frame, (x0 + round(face[0] * scale), y0 + round(face[1] * scale))


def covers(face: Face, point: tuple[int, int]) -> bool:
    x, y = point
    return face.x <= x <= face.x + face.width and face.y <= y <= face.y + face.height


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


# -- the detector on real faces ------------------------------------------------------------


# Where a participant sits: three backgrounds, three places along the seat, and sizes from
# leaning back (the face about 16 % of the frame's height) to leaning in (about 37 %).
PLACES = [(background, scale, centre_x) for background in BACKGROUNDS
          for scale in (0.8, 1.0, 1.3, 1.6, 1.9) for centre_x in (200, 320, 440)]
# A cascade misses the odd composition (a face between two pyramid levels, a bright edge
# next to it); the tracker needs AWAY_AFTER_FRAMES misses in a row before it calls anybody
# away, so what matters is the rate. Measured: 43 of 45 from the front, 41 of 45 in profile
# (the weaker cascade, and the camera hides part of that face).
MIN_FOUND_FRONTAL = 0.9
MIN_FOUND_PROFILE = 0.8


def found_where_seated(detector: FaceDetector, person: np.ndarray, face: tuple[int, int],
                       view: FaceView, scale_by: float = 1.0) -> list[tuple[str, float, int]]:
    """The places (of PLACES) where ``person``'s face was not found where it is."""
    missed = []
    for background, scale, centre_x in PLACES:
        frame, face_at = seated(person, BACKGROUNDS[background](), scale=scale * scale_by,
                                centre_x=centre_x, face=face)
        faces = detector.find(frame)
        if not any(f.view is view and covers(f, face_at) for f in faces):
            missed.append((background, scale * scale_by, centre_x))
    return missed


def test_a_participant_facing_the_camera_is_found_where_they_sit(
    detector: FaceDetector,
) -> None:
    missed = found_where_seated(detector, ASTRONAUT, ASTRONAUT_FACE, FaceView.FRONTAL)
    assert len(missed) <= (1 - MIN_FOUND_FRONTAL) * len(PLACES), missed


def test_the_face_is_given_in_the_frame_s_own_pixels(detector: FaceDetector) -> None:
    frame, face_at = seated(ASTRONAUT, plain_wall(), scale=1.3)
    near = [f for f in detector.find(frame) if covers(f, face_at)]
    # about the face's size, not the shrunk copy's
    assert near and all(0.7 < f.width / (ASTRONAUT_FACE_PX * 1.3) < 1.4 for f in near), near
    assert detector.sees_face(frame)


def test_a_participant_turned_sideways_is_still_there(detector: FaceDetector) -> None:
    # Scaled so that the faces have the same sizes as the astronaut's.
    missed = found_where_seated(detector, CAMERAMAN, CAMERAMAN_FACE, FaceView.PROFILE,
                                scale_by=ASTRONAUT_FACE_PX / CAMERAMAN_FACE_PX)
    assert len(missed) <= (1 - MIN_FOUND_PROFILE) * len(PLACES), missed
    # It is the profile cascade that finds them: the frontal one alone does not.
    frame = seated(CAMERAMAN, brick_wall(), scale=1.8, face=CAMERAMAN_FACE)[0]
    assert detector.sees_face(frame)
    assert FaceDetector(profile=False).find(frame) == []


def dimmed(frame: np.ndarray, light: float) -> np.ndarray:
    return np.clip(frame.astype(np.float32) * light, 0, 255).astype(np.uint8)


def washed_out(frame: np.ndarray, contrast: float) -> np.ndarray:
    grey = 128.0 * (1.0 - contrast)
    return np.clip(frame.astype(np.float32) * contrast + grey, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("light", "change"), [
    ("an underexposed camera", lambda f: dimmed(f, 0.08)),
    ("a dark booth", lambda f: dimmed(f, 0.25)),
    ("glare on the lens", lambda f: washed_out(f, 0.1)),
    ("a bright lamp", lambda f: dimmed(f, 1.4)),
])
def test_a_participant_in_a_dim_or_glaring_booth_is_found(
    detector: FaceDetector, light: str, change: Callable[[np.ndarray], np.ndarray],
) -> None:
    frame, face_at = seated(ASTRONAUT, brick_wall(), scale=1.3)
    assert any(covers(f, face_at) for f in detector.find(change(frame))), light


def test_an_empty_booth_has_nobody_in_it(detector: FaceDetector) -> None:
    empty = [plain_wall(seed) for seed in range(8)]
    empty += [brick_wall(), *(pattern_frame(t * 0.37) for t in range(16))]
    empty.append(np.random.default_rng(7).integers(0, 256, (HEIGHT, WIDTH, 3), np.uint8))
    empty.append(np.zeros((HEIGHT, WIDTH, 3), np.uint8))  # lens covered, or lights off
    empty += [dimmed(brick_wall(), 0.08), washed_out(plain_wall(3), 0.1)]
    found = {i: detector.find(frame) for i, frame in enumerate(empty)}
    assert {i: f for i, f in found.items() if f} == {}


def test_someone_far_behind_the_seat_does_not_count(detector: FaceDetector) -> None:
    # Half size: a face 10 % of the frame's height, someone passing a couple of metres back.
    frame, face_at = seated(ASTRONAUT, plain_wall(), scale=0.5)
    assert detector.find(frame) == []
    # It is the size that ignores them: a detector told to take small faces (and given the
    # whole frame; at the default width the cascade's window is as coarse) finds this one.
    small = FaceDetector(min_face=0.05, detect_width=WIDTH)
    assert any(covers(f, face_at) for f in small.find(frame))


def test_the_smallest_face_that_counts_is_a_share_of_the_frame(
    detector: FaceDetector,
) -> None:
    # The cascade's box around this face is about 30 % of the frame's height.
    frame, face_at = seated(ASTRONAUT, plain_wall(), scale=1.3)
    assert any(covers(f, face_at) for f in detector.find(frame))
    assert any(covers(f, face_at) for f in FaceDetector(min_face=0.25).find(frame))
    assert FaceDetector(min_face=0.4).find(frame) == []


def test_a_larger_camera_picture_gives_the_face_in_its_own_pixels(
    detector: FaceDetector,
) -> None:
    frame, face_at = seated(ASTRONAUT, plain_wall(), scale=1.3)
    big = cv2.resize(frame, (1280, 960), interpolation=cv2.INTER_LINEAR)
    faces = detector.find(big)
    assert any(covers(f, (face_at[0] * 2, face_at[1] * 2)) for f in faces), faces
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert any(covers(f, face_at) for f in detector.find(grey))


@pytest.mark.parametrize(("frame", "why"), [
    (np.zeros((480, 640, 3), np.float32), "8-bit"),
    (np.zeros((480, 640, 4), np.uint8), "shape"),
    (np.zeros((10, 10, 3), np.uint8), "too small"),
    (b"\xff\xd8 not a picture", "8-bit"),
])
def test_a_frame_that_is_no_picture_is_refused_clearly(
    detector: FaceDetector, frame: object, why: str,
) -> None:
    with pytest.raises(ValueError, match=why):
        detector.find(frame)  # type: ignore[arg-type]
    # and the detector still works afterwards
    assert detector.sees_face(seated(ASTRONAUT, plain_wall())[0])


def test_without_the_cascade_files_the_detector_says_which_file_is_missing(
    tmp_path: Path,
) -> None:
    with pytest.raises(PresenceUnavailable, match=re.escape(FRONTAL_CASCADE)):
        FaceDetector(cascade_dir=tmp_path)
    (tmp_path / FRONTAL_CASCADE).write_text("<opencv_storage>garbage")
    with pytest.raises(PresenceUnavailable, match="cannot load"):
        FaceDetector(cascade_dir=tmp_path)


def test_nonsense_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="min_face"):
        FaceDetector(min_face=0.0)
    with pytest.raises(ValueError, match="detect_width"):
        FaceDetector(detect_width=32)
    with pytest.raises(ValueError, match="at least 1"):
        PresenceTracker(away_after=0)


# -- the tracker (pure) ----------------------------------------------------------------------


def run(tracker: PresenceTracker, seen: list[bool]) -> list[tuple[int, bool]]:
    """Feed one detection per frame; the (frame index, new presence) of each change."""
    return [(i, change) for i, s in enumerate(seen)
            if (change := tracker.feed(s)) is not None]


def test_away_only_after_n_frames_in_a_row_without_a_face() -> None:
    tracker = PresenceTracker(away_after=5, back_after=2)
    # Looking down at the document camera for four frames is not leaving.
    assert run(tracker, [True] * 3 + [False] * 4 + [True] + [False] * 4 + [True]) == []
    assert tracker.present
    assert run(tracker, [False] * 5) == [(4, False)] and not tracker.present
    assert run(tracker, [False] * 10) == []  # reported once, not every frame


def test_back_after_m_frames_in_a_row_with_a_face() -> None:
    tracker = PresenceTracker(away_after=3, back_after=2, present=False)
    # A face in one frame (someone walking past) is not a return.
    assert run(tracker, [True, False, True, False]) == []
    assert run(tracker, [True, True, True]) == [(1, True)] and tracker.present


def test_reset_starts_counting_from_the_new_participant() -> None:
    tracker = PresenceTracker(away_after=3, back_after=2)
    assert run(tracker, [False, False]) == []
    tracker.reset()
    assert run(tracker, [False, False]) == []
    assert tracker.feed(False) is False
    tracker.reset(present=False)
    assert run(tracker, [True, True]) == [(1, True)]


def test_the_default_thresholds_are_the_documented_times() -> None:
    tracker = PresenceTracker()
    assert tracker.away_after * limits.PRESENCE_CHECK_S == limits.AWAY_AFTER_S == 20.0
    assert tracker.back_after * limits.PRESENCE_CHECK_S == limits.BACK_AFTER_S == 1.0


def test_detector_and_tracker_on_a_participant_leaving_and_coming_back(
    detector: FaceDetector,
) -> None:
    """Frames from the booth camera, one per check: seated, turned away, gone, back."""
    frontal = seated(ASTRONAUT, brick_wall(), scale=1.3)[0]
    sideways = seated(CAMERAMAN, brick_wall(), scale=1.8, face=CAMERAMAN_FACE)[0]
    gone = [brick_wall(), plain_wall(1), plain_wall(2)]
    frames = [frontal] * 3 + [sideways] * 3 + [frontal] + gone * 2 + [frontal] * 2
    tracker = PresenceTracker(away_after=6, back_after=2)
    changes = run(tracker, [detector.sees_face(f) for f in frames])
    # Away on the sixth empty frame (index 7 + 5), back on the second face (index 14).
    assert changes == [(12, False), (14, True)]
