"""The document quality gate: one frame and the kind of document in, a verdict with reasons
and guidance out.

    verdict = judge(frame, "kk")
    if not verdict.passed:
        show(verdict.guidance.both())   # "Kartu terlalu miring / Card is tilted"

Pure: no clock, no device, no state; the same frame always gets the same verdict. The kind
(:mod:`bilik.documents`) gives the document's size and the height of its smallest print;
the document is judged at the resolution that print needs, whatever the camera.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from bilik import documents
from bilik.catalogue import Message, text
from bilik.documents import DocumentKind, Material
from hardware.picture import as_bgr
from hardware.quality import checks, limits
from hardware.quality.outline import (
    aspect,
    aspect_fits,
    find_outline,
    keystone,
    px_per_mm,
    tilt_degrees,
    warp,
)


class Reason(enum.Enum):
    """Why a frame was rejected, in the order guidance is given: first what the participant
    fixes by moving the document or their hand (everything else changes with it), then the
    light, then holding still."""

    NO_DOCUMENT = "no_document"
    CUT_OFF = "cut_off"
    COVERED = "covered"
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


def resolve_kind(kind: DocumentKind | str) -> DocumentKind:
    """A kind by name (:class:`~bilik.documents.UnknownDocumentKind` if there is none)."""
    return kind if isinstance(kind, DocumentKind) else documents.kind(kind)


def needed_px_per_mm(kind: DocumentKind | str) -> float:
    """Resolution at which the kind's smallest print is ``PRINT_PX`` tall."""
    return resolve_kind(kind).px_per_mm_for(limits.PRINT_PX)


def reachable_px_per_mm(kind: DocumentKind | str, width: int, height: int) -> float:
    """The best resolution a ``width`` x ``height`` camera gives the kind, laid along the
    frame's long side and filling ``FRAME_FILL`` of it."""
    k = resolve_kind(kind)
    long_px, short_px = max(width, height), min(width, height)
    return min(long_px / k.long_mm, short_px / k.short_mm) * limits.FRAME_FILL


def camera_reaches(kind: DocumentKind | str, width: int, height: int) -> bool:
    """Whether a camera of this frame size can ever resolve the kind's smallest print."""
    return reachable_px_per_mm(kind, width, height) >= needed_px_per_mm(kind)


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for one frame.

    ``reasons`` are sorted by :class:`Reason` priority; ``guidance`` is the message for the
    first (one instruction at a time) or ``quality.ok``; ``scores`` holds every measurement
    that was taken; ``document`` is the straightened document as judged (the kind's judged
    resolution, long side across, BGR) when an outline was found, and ``corners`` its
    outline in the frame (TL TR BR BL). :meth:`capture_image` straightens it again at the
    camera's own resolution for the officer and OCR.
    """

    passed: bool
    reasons: list[Reason]
    scores: dict[str, float]
    guidance: Message
    document: np.ndarray | None = field(default=None, repr=False, compare=False)
    corners: np.ndarray | None = field(default=None, repr=False, compare=False)
    kind: DocumentKind | None = field(default=None, repr=False, compare=False)
    frame: np.ndarray | None = field(default=None, repr=False, compare=False)

    def messages(self) -> list[Message]:
        return [r.message for r in self.reasons]

    def capture_image(self, max_px_per_mm: float = limits.CAPTURE_PX_PER_MM_MAX) -> np.ndarray:
        """The document straightened at the frame's own resolution (at most
        ``max_px_per_mm``); raises ``ValueError`` when no document was found."""
        if self.frame is None or self.corners is None or self.kind is None:
            raise ValueError("no document was found in this frame")
        scale = min(px_per_mm(self.corners, self.kind.long_mm), max_px_per_mm)
        return warp(self.frame, self.corners, (self.kind.long_mm, self.kind.short_mm), scale)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": "accept" if self.passed else "reject",
            "kind": None if self.kind is None else self.kind.name,
            "reasons": [r.value for r in self.reasons],
            "guidance": {"id": self.guidance.id, "en": self.guidance.en},
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "corners": None if self.corners is None else np.round(self.corners, 1).tolist(),
        }


def _verdict(
    reasons: list[Reason],
    scores: dict[str, float],
    kind: DocumentKind,
    document: np.ndarray | None = None,
    corners: np.ndarray | None = None,
    frame: np.ndarray | None = None,
) -> Verdict:
    reasons = sorted(set(reasons), key=_PRIORITY.__getitem__)
    guidance = reasons[0].message if reasons else text("quality.ok")
    return Verdict(not reasons, reasons, scores, guidance, document, corners, kind, frame)


def judge(frame_bgr: np.ndarray, kind: DocumentKind | str = documents.DEFAULT_KIND) -> Verdict:
    """Judge one frame from the document camera as a document of ``kind`` (see
    docs/quality.md for each check).

    Raises :class:`~hardware.errors.ImageUnreadable` (a ``ValueError``) when ``frame_bgr``
    is not a picture, :class:`~bilik.documents.UnknownDocumentKind` for an unknown kind.
    """
    k = resolve_kind(kind)
    frame = as_bgr(frame_bgr, "frame")
    h, w = frame.shape[:2]
    # Light so far off that edges vanish or appear everywhere: say so before looking for
    # the document (a sparse sample of the frame is enough for a histogram).
    step = max(1, w // limits.EXPOSURE_SAMPLE_WIDTH_PX)
    sample = cv2.cvtColor(frame[::step, ::step], cv2.COLOR_BGR2GRAY)
    scores: dict[str, float] = {
        "frame_p99": checks.percentiles_u8(sample, (99,))[0],
        "frame_saturated": float(np.count_nonzero(sample >= limits.SATURATED_LEVEL)) / sample.size,
    }
    if scores["frame_p99"] < limits.FRAME_DARK_P99:
        return _verdict([Reason.TOO_DARK], scores, k)
    if scores["frame_saturated"] > limits.FRAME_SATURATED_SHARE:
        return _verdict([Reason.TOO_BRIGHT], scores, k)
    outline = find_outline(frame, k.aspect, k.long_mm * k.short_mm)
    scores["area_share"] = outline.area_share
    if outline.touches_border:
        return _verdict([Reason.CUT_OFF], scores, k, corners=outline.corners)
    corners = outline.corners
    if corners is None:
        return _verdict([Reason.NO_DOCUMENT], scores, k)
    scores["aspect"] = aspect(corners)
    scores["keystone"] = keystone(corners)
    if not aspect_fits(corners, k.aspect):
        return _verdict([Reason.NO_DOCUMENT], scores, k)

    reasons: list[Reason] = []
    scores["margin"] = checks.margin_share(corners, w, h)
    if scores["margin"] < limits.MIN_MARGIN_SHARE:
        reasons.append(Reason.CUT_OFF)
    scores["tilt_deg"] = tilt_degrees(corners)
    if scores["tilt_deg"] > limits.MAX_TILT_DEG or scores["keystone"] > limits.MAX_KEYSTONE:
        reasons.append(Reason.TILTED)
    needed = needed_px_per_mm(k)
    scores["px_per_mm"] = px_per_mm(corners, k.long_mm)
    scores["needed_px_per_mm"] = needed
    scores["ppi"] = scores["px_per_mm"] * 25.4
    if scores["px_per_mm"] < needed:
        reasons.append(Reason.LOW_RESOLUTION)

    judged_scale = k.px_per_mm_for(limits.JUDGE_PX_PER_PRINT)
    document = warp(frame, corners, (k.long_mm, k.short_mm), judged_scale)
    scores["over_share"] = outline.over_share
    if outline.over_lab is not None:
        scores["cover_mm"] = checks.cover_depth_mm(document, outline.over_lab, judged_scale)
        if scores["cover_mm"] > limits.COVER_DEPTH_MM[k.material.value]:
            reasons.append(Reason.COVERED)
    gray = checks.inset(cv2.cvtColor(document, cv2.COLOR_BGR2GRAY))
    exposure = checks.exposure(gray)
    scores.update(exposure)
    washed = (
        exposure["p50"] > limits.BRIGHT_P50 or exposure["saturated"] > limits.BRIGHT_SATURATED_SHARE
    )
    if k.material is Material.PAPER:
        scores["print_contrast"] = checks.print_contrast(gray, limits.JUDGE_PX_PER_PRINT)
        too_bright = washed and scores["print_contrast"] < limits.PRINT_FADED_CONTRAST
    else:
        too_bright = washed
    if exposure["p95"] < limits.DARK_P95:
        reasons.append(Reason.TOO_DARK)
    if too_bright:
        reasons.append(Reason.TOO_BRIGHT)
    scores["glare"] = checks.glare_share(gray, limits.JUDGE_PX_PER_PRINT)
    if scores["glare"] > limits.MAX_GLARE_SHARE and not too_bright:
        reasons.append(Reason.GLARE)  # over-exposure already says it, with better advice
    scores["sharpness"] = checks.sharpness(gray)
    if scores["sharpness"] < limits.MIN_SHARPNESS:
        reasons.append(Reason.BLURRY)
    return _verdict(reasons, scores, k, document, corners, frame)
