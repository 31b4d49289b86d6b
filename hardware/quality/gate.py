"""The document quality gate: one frame in, a verdict with reasons and guidance out.

    verdict = judge(frame)
    if not verdict.passed:
        show(verdict.guidance.both())   # "Kartu terlalu miring / Card is tilted"

Pure: no clock, no device, no state; the same frame always gets the same verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from bilik.catalogue import Message, text
from hardware.picture import as_bgr
from hardware.quality import checks, limits
from hardware.quality.outline import aspect, find_outline, keystone, tilt_degrees, warp


class Reason(enum.Enum):
    """Why a frame was rejected, in the order guidance is given: first what the participant
    fixes by moving the card (everything else changes with it), then the light, then
    holding still."""

    NO_DOCUMENT = "no_document"
    CUT_OFF = "cut_off"
    TILTED = "tilted"
    LOW_RESOLUTION = "low_resolution"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    GLARE = "glare"
    BLURRY = "blurry"

    @property
    def message(self) -> Message:
        return text(f"quality.{self.value}")


_PRIORITY = {r: i for i, r in enumerate(Reason)}


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for one frame.

    ``reasons`` are sorted by :class:`Reason` priority; ``guidance`` is the message for the
    first (one instruction at a time) or ``quality.ok``; ``scores`` holds every measurement
    that was taken; ``document`` is the straightened document (``WARP_WIDTH_PX`` wide, BGR)
    when an outline was found, and ``corners`` its outline in the frame (TL TR BR BL).
    """

    passed: bool
    reasons: list[Reason]
    scores: dict[str, float]
    guidance: Message
    document: np.ndarray | None = field(default=None, repr=False, compare=False)
    corners: np.ndarray | None = field(default=None, repr=False, compare=False)

    def messages(self) -> list[Message]:
        return [r.message for r in self.reasons]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "pass" if self.passed else "reject",
            "reasons": [r.value for r in self.reasons],
            "guidance": {"id": self.guidance.id, "en": self.guidance.en},
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "corners": None if self.corners is None else np.round(self.corners, 1).tolist(),
        }


def _verdict(
    reasons: list[Reason],
    scores: dict[str, float],
    document: np.ndarray | None = None,
    corners: np.ndarray | None = None,
) -> Verdict:
    reasons = sorted(set(reasons), key=_PRIORITY.__getitem__)
    guidance = reasons[0].message if reasons else text("quality.ok")
    return Verdict(not reasons, reasons, scores, guidance, document, corners)


def judge(
    frame_bgr: np.ndarray,
    *,
    doc_width_mm: float = limits.ID_CARD_MM[0],
    doc_height_mm: float = limits.ID_CARD_MM[1],
) -> Verdict:
    """Judge one frame from the document camera (see docs/quality.md for each check).

    Raises :class:`~hardware.errors.ImageUnreadable` (a ``ValueError``) when ``frame_bgr``
    is not a picture.
    """
    if not (doc_width_mm > 0 and doc_height_mm > 0):
        raise ValueError(f"document size must be positive, got {doc_width_mm} x {doc_height_mm}")
    frame = as_bgr(frame_bgr, "frame")
    h, w = frame.shape[:2]
    # Light so far off that edges vanish or appear everywhere: say so before looking for
    # the card (a sparse sample of the frame is enough for a histogram).
    sample = cv2.cvtColor(frame[::4, ::4], cv2.COLOR_BGR2GRAY)
    scores: dict[str, float] = {
        "frame_p99": checks.percentiles_u8(sample, (99,))[0],
        "frame_saturated": float(np.count_nonzero(sample >= limits.SATURATED_LEVEL)) / sample.size,
    }
    if scores["frame_p99"] < limits.FRAME_DARK_P99:
        return _verdict([Reason.TOO_DARK], scores)
    if scores["frame_saturated"] > limits.FRAME_SATURATED_SHARE:
        return _verdict([Reason.TOO_BRIGHT], scores)
    outline = find_outline(frame)
    scores["area_share"] = outline.area_share
    if outline.touches_border:
        return _verdict([Reason.CUT_OFF], scores, corners=outline.corners)
    corners = outline.corners
    if corners is None:
        return _verdict([Reason.NO_DOCUMENT], scores)
    long_mm, short_mm = max(doc_width_mm, doc_height_mm), min(doc_width_mm, doc_height_mm)
    scores["aspect"] = aspect(corners)
    scores["keystone"] = keystone(corners)
    if (
        abs(scores["aspect"] / (long_mm / short_mm) - 1) > limits.ASPECT_TOLERANCE
        or scores["keystone"] > limits.MAX_PLAUSIBLE_KEYSTONE
    ):
        return _verdict([Reason.NO_DOCUMENT], scores)

    reasons: list[Reason] = []
    scores["margin"] = checks.margin_share(corners, w, h)
    if scores["margin"] < limits.MIN_MARGIN_SHARE:
        reasons.append(Reason.CUT_OFF)
    scores["tilt_deg"] = tilt_degrees(corners)
    if scores["tilt_deg"] > limits.MAX_TILT_DEG or scores["keystone"] > limits.MAX_KEYSTONE:
        reasons.append(Reason.TILTED)
    scores["ppi"] = checks.pixels_per_inch(corners, long_mm)
    if scores["ppi"] < limits.MIN_PPI:
        reasons.append(Reason.LOW_RESOLUTION)

    document = warp(frame, corners, (long_mm, short_mm))
    gray = checks.inset(cv2.cvtColor(document, cv2.COLOR_BGR2GRAY))
    exposure = checks.exposure(gray)
    scores.update(exposure)
    too_bright = (
        exposure["p50"] > limits.BRIGHT_P50 or exposure["saturated"] > limits.BRIGHT_SATURATED_SHARE
    )
    if exposure["p95"] < limits.DARK_P95:
        reasons.append(Reason.TOO_DARK)
    if too_bright:
        reasons.append(Reason.TOO_BRIGHT)
    scores["glare"] = checks.glare_share(gray)
    if scores["glare"] > limits.MAX_GLARE_SHARE and not too_bright:
        reasons.append(Reason.GLARE)  # over-exposure already says it, with better advice
    scores["sharpness"] = checks.sharpness(gray)
    if scores["sharpness"] < limits.MIN_SHARPNESS:
        reasons.append(Reason.BLURRY)
    return _verdict(reasons, scores, document, corners)
