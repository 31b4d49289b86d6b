"""The booth camera's bitrate follows the officer's attention.

An officer sees up to six booths; only the focused one needs full quality. The others are
sent at :data:`~booth.limits.UNFOCUSED_VIDEO_BITRATE` (their tiles are small, and the LAN
and the hub carry a third of the data). The picture keeps its size: the capture-time code of
the test pattern (``hardware/testpattern.py``) needs blocks of at least 16 px, which a
640x480 picture scaled to 320x240 no longer has, and the hub measures every booth's latency
with it (see docs/booth.md, "Out of focus").

aiortc has no API for a sender's bitrate: its VP8 encoder takes the receiver's estimate
(REMB) as ``target_bitrate`` and re-creates the libvpx context, with a keyframe, when that
changes by more than 10 % or the picture changes size. :class:`CappedVp8Encoder` is that
encoder with its target bounded by a cap read on every frame, so a change of focus takes
effect on the next frame. :func:`cap_sender` gives one sender such an encoder before its
first frame; it is guarded like the jitter-buffer hook (``bilik/webrtc/jitter.py``): a
checked aiortc version and the private attribute it relies on, else
:class:`~booth.errors.BoothError`.
"""

from __future__ import annotations

from collections.abc import Callable

import aiortc
from aiortc import RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder

from booth.errors import BoothError

SUPPORTED_AIORTC = ("1.16.",)
_ENCODER_ATTR = "_RTCRtpSender__encoder"  # where RTCRtpSender keeps its encoder

Cap = Callable[[], int | None]  # bits a second, or None for no cap


class CappedVp8Encoder(Vp8Encoder):
    """aiortc's VP8 encoder whose target bitrate never exceeds ``cap()``."""

    def __init__(self, cap: Cap) -> None:
        super().__init__()
        self._cap = cap

    @property
    def target_bitrate(self) -> int:
        wanted = Vp8Encoder.target_bitrate.fget(self)  # type: ignore[attr-defined]
        cap = self._cap()
        return int(wanted) if cap is None else min(int(wanted), cap)

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        Vp8Encoder.target_bitrate.fset(self, bitrate)  # type: ignore[attr-defined]


def cap_sender(sender: RTCRtpSender, cap: Cap) -> CappedVp8Encoder:
    """Give ``sender`` (video, VP8 only) a capped encoder before it encodes anything."""
    if not aiortc.__version__.startswith(SUPPORTED_AIORTC):
        raise BoothError(f"bitrate cap: aiortc {aiortc.__version__} is not a checked version "
                         f"({', '.join(SUPPORTED_AIORTC)}); see booth/bitrate.py")
    if sender.kind != "video":
        raise BoothError(f"bitrate cap: a {sender.kind} sender has no video encoder")
    if not hasattr(sender, _ENCODER_ATTR):
        raise BoothError("bitrate cap: RTCRtpSender no longer keeps its encoder where "
                         "booth/bitrate.py expects it")
    if getattr(sender, _ENCODER_ATTR) is not None:
        raise BoothError("bitrate cap: the sender has already encoded with its own encoder")
    encoder = CappedVp8Encoder(cap)
    setattr(sender, _ENCODER_ATTR, encoder)
    return encoder
