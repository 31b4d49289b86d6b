"""Document capture quality gate: find the outline, straighten, judge, guide, auto-capture.

    from hardware.quality import judge, AutoCapture
    verdict = judge(frame, "kk")     # Verdict(passed, reasons, scores, guidance, document)
    verdict.capture_image()          # straightened at the camera's own resolution

Pure functions of the frame and the document kind (:mod:`bilik.documents`: its size and
smallest print); thresholds live in :mod:`hardware.quality.limits`. Camera-like test frames
of every kind: :mod:`hardware.quality.scenes`.
"""

from hardware.quality.autocapture import AutoCapture, Capture, CaptureState
from hardware.quality.gate import Reason, Verdict, judge

__all__ = ["AutoCapture", "Capture", "CaptureState", "Reason", "Verdict", "judge"]
