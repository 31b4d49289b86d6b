"""Out of the officer's focus, the booth camera goes at a lower bitrate and half size.

An officer sees up to six booths; only the focused one needs full quality. The others are
shown as small tiles, so they are sent at :data:`~booth.limits.UNFOCUSED_VIDEO_BITRATE`
and scaled to fit :data:`~booth.limits.UNFOCUSED_VIDEO_SIZE` (320x240 from the usual
640x480): a quarter of the pixels for the booth to encode and for the hub to decode. The
capture-time code of the test pattern (``hardware/testpattern.py``) reads at that size, so
the hub keeps measuring every booth's latency (see docs/booth.md, "Out of focus").

aiortc has no API for a sender's bitrate or size: its VP8 encoder takes the receiver's
estimate (REMB) as ``target_bitrate`` and re-creates the libvpx context, with a keyframe,
when that changes by more than 10 % or the picture changes size. :class:`CappedVp8Encoder`
is that encoder reading a cap once per frame: while capped, its target is bounded by the
cap and the frame is scaled down (one swscale call) before encoding; so a change of focus
gives a keyframe at the new size and rate on the next frame. :func:`cap_sender` gives one
sender such an encoder before its first frame; it is guarded like the jitter-buffer hook
(``bilik/webrtc/jitter.py``): a checked aiortc version and the private attribute it relies
on, else :class:`~booth.errors.BoothError`.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder
from av.frame import Frame
from av.video.frame import VideoFrame

from bilik.webrtc import aiortcversion
from booth import limits
from booth.errors import BoothError

_ENCODER_ATTR = "_RTCRtpSender__encoder"  # where RTCRtpSender keeps its encoder

Cap = Callable[[], int | None]  # bits a second, or None for no cap


def capped_size(width: int, height: int,
                box: tuple[int, int] = limits.UNFOCUSED_VIDEO_SIZE) -> tuple[int, int]:
    """The size a ``width`` x ``height`` picture is sent at while capped.

    The largest size with the picture's aspect ratio (even, as yuv420p needs) that fits
    ``box``; a picture that already fits keeps its size. 640x480 gives 320x240.
    """
    scale = min(box[0] / width, box[1] / height)
    if scale >= 1:
        return width, height
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class CappedVp8Encoder(Vp8Encoder):
    """aiortc's VP8 encoder that, while ``cap()`` is not None, bounds its target bitrate by
    it and sends the picture scaled to fit ``UNFOCUSED_VIDEO_SIZE``."""

    def __init__(self, cap: Cap) -> None:
        super().__init__()
        self._cap = cap
        self._frame_cap = cap()  # read once per frame, so size and rate always agree

    @property
    def target_bitrate(self) -> int:
        wanted = Vp8Encoder.target_bitrate.fget(self)  # type: ignore[attr-defined]
        cap = self._frame_cap
        return int(wanted) if cap is None else min(int(wanted), cap)

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        Vp8Encoder.target_bitrate.fset(self, bitrate)  # type: ignore[attr-defined]

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        self._frame_cap = self._cap()
        if self._frame_cap is not None and isinstance(frame, VideoFrame):
            size = capped_size(frame.width, frame.height)
            if size != (frame.width, frame.height):
                # One swscale call scales and converts (aiortc would convert to yuv420p anyway).
                frame = frame.reformat(width=size[0], height=size[1], format="yuv420p")
        return super().encode(frame, force_keyframe)


def cap_sender(sender: RTCRtpSender, cap: Cap) -> CappedVp8Encoder:
    """Give ``sender`` (video, VP8 only) a capped encoder before it encodes anything."""
    aiortcversion.require(
        "the bitrate cap", "read aiortc's rtcrtpsender.py and codecs/vpx.py and re-run "
        "tests/booth/test_focus.py", BoothError)
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
