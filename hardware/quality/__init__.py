"""Document capture quality gate: find the outline, straighten, judge, guide, auto-capture.

    from hardware.quality import judge, AutoCapture
    verdict = judge(frame)           # Verdict(passed, reasons, scores, guidance, document)

Pure functions of the frame; thresholds live in :mod:`hardware.quality.limits`.
"""

from hardware.quality.autocapture import AutoCapture, Capture, CaptureState
from hardware.quality.gate import Reason, Verdict, judge

__all__ = ["AutoCapture", "Capture", "CaptureState", "Reason", "Verdict", "judge"]
