"""Is somebody in the seat? Face detection on the booth camera, and a debounced verdict.

:class:`PresenceTracker` is pure (detections and times in, changes out): the participant
is *away* after ``away_after_s`` without a face (turning to the document camera or
bending down for a bag must not count), and *back* after ``back_after_s`` with one.

:class:`FaceDetector` is the shell, on a 640-wide copy of the booth camera's frame. It uses
OpenCV's frontal-face Haar cascade where the installed OpenCV has one: opencv-python 4.x
wheels ship ``haarcascade_frontalface_default.xml`` in ``cv2.data.haarcascades``, and
Debian's ``opencv-data`` puts it in ``/usr/share/opencv4/haarcascades``. OpenCV 5 (what
this project pins today) dropped ``CascadeClassifier`` from the main module and ships no
cascade; its replacement, ``FaceDetectorYN``, needs the YuNet ONNX model, which no
installed package provides and which must not be downloaded at run time. So a YuNet model
file can be named in the configuration, and without either the detector raises
:class:`PresenceUnavailable`: the agent then runs without presence (said once in the log
and in its Status detail), rather than pretending the seat is always occupied.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from booth import limits
from booth.errors import BoothError

CASCADE_FILE = "haarcascade_frontalface_default.xml"
CASCADE_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")
DETECT_WIDTH = 640


class PresenceUnavailable(BoothError):
    """No face detector can run with the installed OpenCV and files."""


def _cascade_path() -> str | None:
    dirs = [getattr(getattr(cv2, "data", None), "haarcascades", ""), *CASCADE_DIRS]
    for folder in dirs:
        if folder and (Path(folder) / CASCADE_FILE).is_file():
            return str(Path(folder) / CASCADE_FILE)
    return None


class PresenceTracker:
    def __init__(self, *, away_after_s: float = limits.AWAY_AFTER_S,
                 back_after_s: float = limits.BACK_AFTER_S, present: bool = True) -> None:
        self.away_after_s = away_after_s
        self.back_after_s = back_after_s
        self.present = present
        self._last_face: float | None = None
        self._face_since: float | None = None
        self._empty_since: float | None = None

    def reset(self, now: float, present: bool = True) -> None:
        """A new participant sits down (or the camera restarted): start counting afresh."""
        self.present = present
        self._face_since = None
        self._empty_since = now

    def feed(self, now: float, faces: int) -> bool | None:
        """One detection; returns the new presence when it changed, else ``None``."""
        if faces > 0:
            self._empty_since = None
            if self._face_since is None:
                self._face_since = now
            if not self.present and now - self._face_since >= self.back_after_s:
                self.present = True
                return True
            return None
        self._face_since = None
        if self._empty_since is None:
            self._empty_since = now
        if self.present and now - self._empty_since >= self.away_after_s:
            self.present = False
            return False
        return None


class FaceDetector:
    """Counts faces: Haar cascade when OpenCV has one, else YuNet from ``yunet_model``."""

    def __init__(self, min_face_px: int = limits.FACE_MIN_PX, *,
                 yunet_model: Path | None = None) -> None:
        self.min_face_px = min_face_px
        self.cascade: object | None = None
        self.yunet: object | None = None
        path = _cascade_path()
        if path is not None and hasattr(cv2, "CascadeClassifier"):
            cascade = cv2.CascadeClassifier(path)
            if cascade.empty():
                raise PresenceUnavailable(f"cannot load the face cascade {path}")
            self.cascade = cascade
            self.backend = "haar"
        elif yunet_model is not None and hasattr(cv2, "FaceDetectorYN"):
            if not yunet_model.is_file():
                raise PresenceUnavailable(f"face model {yunet_model} does not exist")
            self.yunet = cv2.FaceDetectorYN.create(str(yunet_model), "", (320, 320))
            self.backend = "yunet"
        else:
            raise PresenceUnavailable(
                f"OpenCV {cv2.__version__} has no Haar face cascade "
                f"({'no CascadeClassifier' if not hasattr(cv2, 'CascadeClassifier') else 'no '}"
                f"{'' if not hasattr(cv2, 'CascadeClassifier') else CASCADE_FILE}) and no "
                "YuNet model is configured (presence_model)")

    def faces(self, frame: np.ndarray) -> int:
        """How many faces are in a BGR (or grey) frame."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim not in (2, 3):
            raise ValueError("frame must be an 8-bit grey or BGR picture")
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if gray.shape[1] > DETECT_WIDTH:
            scale = DETECT_WIDTH / gray.shape[1]
            gray = cv2.resize(gray, (DETECT_WIDTH, round(gray.shape[0] * scale)),
                              interpolation=cv2.INTER_AREA)
        if self.yunet is not None:
            bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
            detector = self.yunet
            detector.setInputSize((bgr.shape[1], bgr.shape[0]))  # type: ignore[attr-defined]
            _, found = detector.detect(bgr)  # type: ignore[attr-defined]
            return 0 if found is None else len(found)
        gray = cv2.equalizeHist(gray)
        found = self.cascade.detectMultiScale(  # type: ignore[union-attr]
            gray, scaleFactor=1.1, minNeighbors=5,
            minSize=(self.min_face_px, self.min_face_px))
        return len(found)
