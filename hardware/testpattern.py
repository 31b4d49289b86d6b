"""A synthetic camera picture: a moving test pattern carrying its capture time in the image.

The capture time (48 bits of milliseconds) and a CRC-16 of it are drawn as 64 black or
white blocks of 20x20 pixels in two rows along the top-left 640x40 strip of the picture.
Blocks that large survive VP8 at the bitrates a branch LAN carries (only their centres are
sampled, so ringing at the block edges does not matter), and the checksum tells a
corrupted read from a good one. The rest of the picture is a gradient with colour bars and
a box and a bar that move with the capture time, so the encoder always has motion to code.

The reader also takes the pattern scaled down as a whole (a booth out of the officer's
focus sends 320x240): a picture ``w`` pixels wide with ``MIN_READ_WIDTH <= w < WIDTH`` is
read as the 640-px pattern scaled by ``s = w / WIDTH`` (0.5 <= s < 1), sampling each
block's centre at the scaled position (block side ``20 * s`` px, a square of about half of
it). At 320x240 the blocks are 10 px, smaller than a VP8 macroblock, so their edges blur
more; their centres still read at 150 kbit/s (``tests/webrtc/test_call_timecode.py``). Pictures
at least ``WIDTH`` wide are read at full scale; narrower than ``MIN_READ_WIDTH`` are refused.

Everything here is a pure function of its inputs: the pattern is a function of the
capture time, and :func:`read_timecode` of the pixels.

Pictures are ``yuv420p`` arrays in the layout ``av.VideoFrame.from_ndarray`` takes:
shape ``(height * 3 // 2, width)``, the Y plane followed by the U and V planes.
"""

from __future__ import annotations

import binascii
import functools

import av
import cv2
import numpy as np
import numpy.typing as npt

from hardware.errors import HardwareError

WIDTH = 640
HEIGHT = 480
BLOCK_PX = 20  # side of one timecode block; >= 16 px so a VP8 macroblock cannot smear it
VALUE_BITS = 48  # capture time in ms since the epoch fits until the year 10889
CHECK_BITS = 16  # CRC-16/CCITT of the value's 6 bytes
COLUMNS = 32
ROWS = (VALUE_BITS + CHECK_BITS) // COLUMNS
STRIP_PX = ROWS * BLOCK_PX  # height of the timecode strip at the top of the picture
LUMA_ONE = 235  # studio-swing white and black: what a camera and the codec expect
LUMA_ZERO = 16
LUMA_THRESHOLD = 128
LUMA_DOUBT = 40  # a block this close to the threshold is uncertain (levels are 107 away)
SAMPLE_PX = BLOCK_PX // 2  # side of the square sampled at each block's centre
MIN_READ_SCALE = 0.5  # the reader takes the pattern scaled down to half its size, no less
MIN_READ_WIDTH = round(COLUMNS * BLOCK_PX * MIN_READ_SCALE)  # 320 px
MAX_VALUE = (1 << VALUE_BITS) - 1

Picture = npt.NDArray[np.uint8]


class TimecodeError(HardwareError, ValueError):
    """A picture carries no readable timecode (too small, or the checksum does not match)."""


def _checksum(value: int) -> int:
    return binascii.crc_hqx(value.to_bytes(VALUE_BITS // 8, "big"), 0xFFFF)


def timecode_bits(value: int) -> list[int]:
    """The 64 bits drawn for ``value``: the value MSB first, then its CRC-16."""
    if not 0 <= value <= MAX_VALUE:
        raise ValueError(f"timecode value {value} is outside 0..{MAX_VALUE}")
    word = (value << CHECK_BITS) | _checksum(value)
    total = VALUE_BITS + CHECK_BITS
    return [(word >> (total - 1 - i)) & 1 for i in range(total)]


def write_timecode(luma: Picture, value: int) -> None:
    """Draw ``value`` into the top strip of a Y plane in place."""
    _check_size(luma)
    bits = timecode_bits(value)
    blocks = np.array(bits, dtype=np.uint8).reshape(ROWS, COLUMNS)
    levels = np.where(blocks == 1, LUMA_ONE, LUMA_ZERO).astype(np.uint8)
    strip = np.repeat(np.repeat(levels, BLOCK_PX, axis=0), BLOCK_PX, axis=1)
    luma[:STRIP_PX, : COLUMNS * BLOCK_PX] = strip


def read_timecode(luma: Picture) -> int:
    """Recover the value drawn by :func:`write_timecode` from a (decoded) Y plane.

    The plane may be the pattern scaled down as a whole, to no less than half its size
    (see the module docstring). One uncertain block read wrong is corrected through the
    checksum. Raises :class:`TimecodeError` if the picture is too small or the checksum
    fails.
    """
    _check_readable(luma)
    rows, columns, side = _sample_grid(min(luma.shape[1], COLUMNS * BLOCK_PX))
    # Sum of a side x side square at every block centre, all blocks at once, against the
    # threshold times the square's area: a mean without the division.
    sample = np.take(luma[rows], columns, axis=1).reshape(ROWS, side, COLUMNS, side)
    sums = sample.sum(axis=(1, 3), dtype=np.uint32).reshape(-1)
    bits = sums > LUMA_THRESHOLD * side * side
    value = _checked(bits)
    if value is not None:
        return value
    # One doubtful block may be read wrong (a small dark block between bright ones loses
    # contrast in VP8 at 320x240 and 150 kbps, about once in a thousand frames). CRC-16/CCITT
    # has a Hamming distance of 4 over these 64 bits, so flipping the single least certain
    # bit, only when it is close to the threshold, corrects one error and cannot turn a
    # picture with fewer than three errors into a wrong value.
    doubt = np.abs(sums.astype(np.int64) - LUMA_THRESHOLD * side * side)
    weakest = int(np.argmin(doubt))
    if doubt[weakest] <= LUMA_DOUBT * side * side:
        bits[weakest] = not bits[weakest]
        value = _checked(bits)
        if value is not None:
            return value
    word = int.from_bytes(np.packbits(sums > LUMA_THRESHOLD * side * side).tobytes(), "big")
    value, check = word >> CHECK_BITS, word & ((1 << CHECK_BITS) - 1)
    raise TimecodeError(
        f"timecode checksum mismatch (read value {value}, check {check:#06x}, "
        f"expected {_checksum(value):#06x})"
    )


def _checked(bits: npt.NDArray[np.bool_]) -> int | None:
    """The value the 64 bits carry, or None if their checksum does not match."""
    word = int.from_bytes(np.packbits(bits).tobytes(), "big")
    value = word >> CHECK_BITS
    return value if _checksum(value) == word & ((1 << CHECK_BITS) - 1) else None


@functools.lru_cache(maxsize=8)
def _sample_grid(
    strip_width: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], int]:
    """Rows and columns sampled for a strip ``strip_width`` px wide, and the square's side.

    Block ``i`` of the scaled strip spans ``[i * b, (i + 1) * b)`` with ``b = BLOCK_PX *
    scale``; the square is centred on ``(i + 0.5) * b``. At full scale this is the central
    10x10 px of each 20-px block.
    """
    scale = strip_width / (COLUMNS * BLOCK_PX)
    block = BLOCK_PX * scale
    side = max(1, round(SAMPLE_PX * scale))

    def starts(count: int) -> npt.NDArray[np.intp]:
        centres = (np.arange(count) + 0.5) * block
        return np.floor(centres - side / 2 + 0.5).astype(np.intp)

    offsets = np.arange(side, dtype=np.intp)
    rows = (starts(ROWS)[:, None] + offsets).reshape(-1)
    columns = (starts(COLUMNS)[:, None] + offsets).reshape(-1)
    return rows, columns, side


def _check_size(luma: Picture) -> None:
    """A plane :func:`write_timecode` can draw into: the full-size strip fits."""
    if luma.ndim != 2 or luma.shape[0] < STRIP_PX or luma.shape[1] < COLUMNS * BLOCK_PX:
        raise TimecodeError(
            f"picture {tuple(luma.shape)} is too small for a timecode "
            f"(needs at least {STRIP_PX}x{COLUMNS * BLOCK_PX} luma pixels)"
        )


def _check_readable(luma: Picture) -> None:
    """A plane :func:`read_timecode` can read: the strip scaled by 0.5 or more fits."""
    if luma.ndim == 2 and luma.shape[1] >= MIN_READ_WIDTH:
        scale = min(luma.shape[1], COLUMNS * BLOCK_PX) / (COLUMNS * BLOCK_PX)
        if luma.shape[0] >= round(STRIP_PX * scale):
            return
    raise TimecodeError(
        f"picture {tuple(luma.shape)} is too small for a timecode (needs a luma plane at "
        f"least {MIN_READ_WIDTH} px wide, the {WIDTH}x{HEIGHT} pattern scaled by "
        f"{MIN_READ_SCALE} or more, with the strip's {STRIP_PX} rows scaled alike)"
    )


def frame_luma(frame: av.VideoFrame) -> Picture:
    """The Y plane of a decoded frame as a (height, width) array, without copying if possible."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width]


def read_frame_timecode(frame: av.VideoFrame) -> int:
    """:func:`read_timecode` on a decoded video frame."""
    return read_timecode(frame_luma(frame))


class TestPattern:
    """Renders the moving pattern for any capture time; holds only precomputed backgrounds."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p needs an even size, not {width}x{height}")
        if width < COLUMNS * BLOCK_PX or height < STRIP_PX + 2 * BLOCK_PX:
            raise ValueError(f"{width}x{height} is too small for the test pattern")
        self.width = width
        self.height = height
        ramp = np.linspace(LUMA_ZERO + 30, LUMA_ONE - 30, width, dtype=np.float32)
        self._luma = np.tile(ramp.astype(np.uint8), (height, 1))
        # Eight colour bars in the chroma planes.
        bars_u = np.array([128, 44, 156, 72, 184, 100, 212, 128], dtype=np.uint8)
        bars_v = np.array([128, 142, 44, 58, 198, 212, 114, 128], dtype=np.uint8)
        index = (np.arange(width // 2) * 8) // (width // 2)
        self._u = np.tile(bars_u[index], (height // 2, 1))
        self._v = np.tile(bars_v[index], (height // 2, 1))
        # Neutral chroma under the timecode strip: the blocks are pure black and white.
        self._u[: STRIP_PX // 2, :] = 128
        self._v[: STRIP_PX // 2, :] = 128

    def render(self, capture_ms: int) -> Picture:
        """The picture for ``capture_ms``, timecode included, as a yuv420p array."""
        w, h = self.width, self.height
        out = np.empty((h * 3 // 2, w), dtype=np.uint8)
        luma = out[:h]
        luma[:] = self._luma
        # A box crossing the picture every 4 s and a bar sweeping down every 3 s.
        box = 96
        x = int((capture_ms % 4000) / 4000 * (w - box))
        y = STRIP_PX + (h - STRIP_PX - box) // 2
        luma[y : y + box, x : x + box] = LUMA_ONE
        luma[y + box // 4 : y + 3 * box // 4, x + box // 4 : x + 3 * box // 4] = LUMA_ZERO
        bar_y = STRIP_PX + int((capture_ms % 3000) / 3000 * (h - STRIP_PX - 8))
        luma[bar_y : bar_y + 8, :] = 255 - luma[bar_y : bar_y + 8, :]
        write_timecode(luma, capture_ms & MAX_VALUE)
        quarter = (h // 2) * (w // 2)
        chroma = out[h:].reshape(-1)
        chroma[:quarter] = self._u.reshape(-1)
        chroma[quarter:] = self._v.reshape(-1)
        return out

    def frame(self, capture_ms: int) -> av.VideoFrame:
        """The picture for ``capture_ms`` as a frame ready for an encoder."""
        return av.VideoFrame.from_ndarray(self.render(capture_ms), format="yuv420p")

    def render_bgr(self, capture_s: float) -> Picture:
        """The picture for a capture time in seconds, as BGR (for OpenCV-style sources)."""
        bgr = cv2.cvtColor(self.render(int(capture_s * 1000)), cv2.COLOR_YUV2BGR_I420)
        return np.asarray(bgr, dtype=np.uint8)
