"""Is somebody in the seat? Face detection on the booth camera, and a debounced verdict.

:class:`PresenceTracker` is pure (one detection per checked frame in, changes out): the
participant is *away* after ``away_after`` consecutive frames without a face (turning to
the document camera or bending down for a bag must not count), and *back* after
``back_after`` consecutive frames with one.

:class:`FaceDetector` is the shell around OpenCV's Haar cascades, the ones opencv-python
4.x ships in ``cv2.data.haarcascades`` (Debian's ``opencv-data`` puts the same files in
``/usr/share/opencv4/haarcascades``). The frame is turned grey, shrunk to
``detect_width`` and its histogram equalised (a booth lit from a window at noon and by a
lamp at dusk looks alike afterwards); faces smaller than ``min_face`` of the frame's
height do not count (someone passing behind the seat). The frontal cascade runs first;
only when it finds nothing does the profile cascade run, on the picture and on its
mirror image (the cascade knows one side), so a participant talking to someone beside
them is still there. Detection blocks for tens of milliseconds, so the agent calls it
from a worker thread, never on the event loop.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from booth import limits
from booth.errors import BoothError

FRONTAL_CASCADE = "haarcascade_frontalface_default.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"
CASCADE_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")
SCALE_STEP = 1.1  # the cascades' search pyramid: each level 10 % smaller
# Overlapping hits a face needs to count. The profile cascade is weaker, so it is asked
# for fewer; neither fires on the empty booth pictures, test pattern or noise in the tests.
FRONTAL_MIN_NEIGHBOURS = 5
PROFILE_MIN_NEIGHBOURS = 3
CASCADE_MIN_PX = 24  # the cascades' own window: nothing smaller can be found


class PresenceUnavailable(BoothError):
    """No face detector can run with the installed OpenCV and files."""


class FaceView(enum.StrEnum):
    FRONTAL = "frontal"
    PROFILE = "profile"


@dataclass(frozen=True)
class Face:
    """A face found, in the pixels of the frame given (not of the shrunk copy)."""

    x: int
    y: int
    width: int
    height: int
    view: FaceView


class PresenceTracker:
    """Consecutive detections in, a debounced present/away out; no clock, no camera."""

    def __init__(self, *, away_after: int = limits.AWAY_AFTER_FRAMES,
                 back_after: int = limits.BACK_AFTER_FRAMES, present: bool = True) -> None:
        if away_after < 1 or back_after < 1:
            raise ValueError(f"away_after and back_after must be at least 1 frame, "
                             f"got {away_after} and {back_after}")
        self.away_after = away_after
        self.back_after = back_after
        self.present = present
        self._run = 0  # consecutive frames disagreeing with ``present``

    def reset(self, present: bool = True) -> None:
        """A new participant sits down (or the camera restarted): start counting afresh."""
        self.present = present
        self._run = 0

    def feed(self, face_seen: bool) -> bool | None:
        """One checked frame; returns the new presence when it changed, else ``None``."""
        if face_seen == self.present:
            self._run = 0
            return None
        self._run += 1
        if self._run >= (self.back_after if face_seen else self.away_after):
            self.present = face_seen
            self._run = 0
            return face_seen
        return None


def _cascade(name: str, folders: list[Path]) -> cv2.CascadeClassifier:
    for folder in folders:
        path = folder / name
        if path.is_file():
            try:
                cascade = cv2.CascadeClassifier(str(path))
            except (cv2.error, SystemError) as exc:  # OpenCV's bindings raise either
                raise PresenceUnavailable(f"cannot load the face cascade {path}: {exc}") from None
            if cascade.empty():
                raise PresenceUnavailable(f"cannot load the face cascade {path}")
            return cascade
    where = ", ".join(str(f) for f in folders)
    raise PresenceUnavailable(f"no face cascade {name} in {where} (OpenCV {cv2.__version__})")


class FaceDetector:
    """Finds faces in booth-camera frames with the Haar cascades shipped with OpenCV."""

    def __init__(self, *, min_face: float = limits.FACE_MIN_FRACTION,
                 detect_width: int = limits.PRESENCE_DETECT_WIDTH, profile: bool = True,
                 cascade_dir: Path | None = None) -> None:
        if not 0.0 < min_face <= 1.0:
            raise ValueError(f"min_face is a fraction of the frame's height, got {min_face}")
        if detect_width < CASCADE_MIN_PX * 4:
            raise ValueError(f"detect_width {detect_width} is too small to find a face")
        self.min_face = min_face
        self.detect_width = detect_width
        if cascade_dir is not None:
            folders = [cascade_dir]
        else:
            shipped = getattr(getattr(cv2, "data", None), "haarcascades", "")
            folders = [Path(d) for d in (shipped, *CASCADE_DIRS) if d]
        self.frontal = _cascade(FRONTAL_CASCADE, folders)
        self.profile = _cascade(PROFILE_CASCADE, folders) if profile else None

    def find(self, frame: np.ndarray) -> list[Face]:
        """Faces in a BGR or grey frame: the frontal ones, else any in profile."""
        gray, scale = self._prepare(frame)
        side = max(CASCADE_MIN_PX, round(self.min_face * gray.shape[0]))
        found = self.frontal.detectMultiScale(
            gray, scaleFactor=SCALE_STEP, minNeighbors=FRONTAL_MIN_NEIGHBOURS,
            minSize=(side, side))
        faces = [_face(box, scale, FaceView.FRONTAL) for box in found]
        if faces or self.profile is None:
            return faces
        width = gray.shape[1]
        for mirrored in (False, True):
            picture = cv2.flip(gray, 1) if mirrored else gray
            for x, y, w, h in self.profile.detectMultiScale(
                    picture, scaleFactor=SCALE_STEP, minNeighbors=PROFILE_MIN_NEIGHBOURS,
                    minSize=(side, side)):
                left = width - x - w if mirrored else x
                faces.append(_face((left, y, w, h), scale, FaceView.PROFILE))
        return faces

    def sees_face(self, frame: np.ndarray) -> bool:
        return bool(self.find(frame))

    def _prepare(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """Grey, shrunk to ``detect_width`` (never enlarged), equalised; and the scale used."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            raise ValueError("frame must be an 8-bit grey or BGR picture, got "
                             f"{getattr(frame, 'dtype', type(frame).__name__)}")
        if frame.ndim == 3 and frame.shape[2] == 3:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        elif frame.ndim == 2:
            gray = frame
        else:
            raise ValueError(f"frame must be an 8-bit grey or BGR picture, got shape {frame.shape}")
        height, width = gray.shape
        if height < CASCADE_MIN_PX or width < CASCADE_MIN_PX:
            raise ValueError(f"frame of {width}x{height} is too small to look for a face")
        scale = 1.0
        if width > self.detect_width:
            scale = self.detect_width / width
            gray = cv2.resize(gray, (self.detect_width, max(1, round(height * scale))),
                              interpolation=cv2.INTER_AREA)
        return cv2.equalizeHist(gray), scale


def _face(box: Sequence[int], scale: float, view: FaceView) -> Face:
    x, y, w, h = (round(int(v) / scale) for v in box)
    return Face(x, y, w, h, view)
