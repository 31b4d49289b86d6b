"""The test pattern's timecode: exact recovery at full and half size, through real VP8, and
clear errors on bad input."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from av import VideoFrame
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.errors import HardwareError
from hardware.testpattern import (
    BLOCK_PX,
    HEIGHT,
    MAX_VALUE,
    MIN_READ_WIDTH,
    STRIP_PX,
    WIDTH,
    TestPattern,
    TimecodeError,
    frame_luma,
    read_frame_timecode,
    read_timecode,
    timecode_bits,
    write_timecode,
)

NOW_MS = 1_760_000_000_000  # an epoch millisecond of 2025


@given(st.integers(min_value=0, max_value=MAX_VALUE))
def test_timecode_round_trips_every_value(value: int) -> None:
    luma = np.full((HEIGHT, WIDTH), 90, dtype=np.uint8)
    write_timecode(luma, value)
    assert read_timecode(luma) == value


def test_blocks_are_at_least_16_px_and_fit_the_picture() -> None:
    assert BLOCK_PX >= 16
    assert len(timecode_bits(0)) == 64
    assert STRIP_PX < HEIGHT


def test_value_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        timecode_bits(MAX_VALUE + 1)
    with pytest.raises(ValueError, match="outside"):
        timecode_bits(-1)


def test_a_flipped_block_is_caught_by_the_checksum() -> None:
    luma = np.full((HEIGHT, WIDTH), 90, dtype=np.uint8)
    write_timecode(luma, NOW_MS)
    centre = BLOCK_PX // 2
    block = luma[centre, 5 * BLOCK_PX + centre]
    luma[:BLOCK_PX, 5 * BLOCK_PX : 6 * BLOCK_PX] = 255 - block
    with pytest.raises(TimecodeError, match="checksum"):
        read_timecode(luma)


@pytest.mark.parametrize("width", [WIDTH, WIDTH // 2])
def test_one_doubtful_block_is_corrected_two_are_refused(width: int) -> None:
    """A dark block VP8 washed out towards grey (seen at 320x240, 150 kbps) still reads;
    two such blocks are more than the checksum can vouch for."""
    luma = frame_luma(scaled(NOW_MS, width, width * 3 // 4)).copy()
    block = BLOCK_PX * width // WIDTH
    dark = [i for i, bit in enumerate(timecode_bits(NOW_MS)) if bit == 0]

    def wash(index: int, level: int) -> None:
        row, column = divmod(index, 32)
        luma[row * block : (row + 1) * block, column * block : (column + 1) * block] = level

    wash(dark[3], 150)  # dark drawn, read bright, but close to the threshold
    assert read_timecode(luma) == NOW_MS
    wash(dark[7], 150)
    with pytest.raises(TimecodeError, match="checksum"):
        read_timecode(luma)


def test_a_picture_without_timecode_is_reported_not_misread() -> None:
    flat = np.full((HEIGHT, WIDTH), 200, dtype=np.uint8)
    noise = np.random.default_rng(1).integers(0, 256, (HEIGHT, WIDTH), dtype=np.uint8)
    for picture in (flat, noise):
        with pytest.raises(TimecodeError) as info:
            read_timecode(picture)
        assert isinstance(info.value, HardwareError)


def test_a_picture_too_small_is_refused_with_its_size() -> None:
    with pytest.raises(TimecodeError, match=r"\(20, 100\) is too small"):
        read_timecode(np.zeros((20, 100), dtype=np.uint8))
    with pytest.raises(TimecodeError, match="too small"):
        read_timecode(np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8))


def test_pattern_moves_with_time_and_keeps_its_size() -> None:
    pattern = TestPattern()
    a, b = pattern.render(NOW_MS), pattern.render(NOW_MS + 500)
    assert a.shape == b.shape == (HEIGHT * 3 // 2, WIDTH)
    below_strip = slice(STRIP_PX, HEIGHT)
    assert np.count_nonzero(a[below_strip] != b[below_strip]) > 5000
    assert read_timecode(a[:HEIGHT]) == NOW_MS


def test_timecode_survives_live_vp8_encode_and_decode() -> None:
    """Every frame of two seconds of pattern, through aiortc's own VP8 encoder and decoder."""
    pattern = TestPattern()
    encoder, decoder = Vp8Encoder(), Vp8Decoder()
    fps = 15
    read: list[int] = []
    sent: list[int] = []
    for i in range(2 * fps):
        capture_ms = NOW_MS + i * 1000 // fps
        frame = pattern.frame(capture_ms)
        frame.pts = i * 90000 // fps
        frame.time_base = Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(vp8_depayload(p) for p in payloads)
        for decoded in decoder.decode(JitterFrame(data=data, timestamp=timestamp)):
            assert isinstance(decoded, VideoFrame)
            read.append(read_frame_timecode(decoded))
        sent.append(capture_ms)
    assert read == sent


def test_timecode_survives_a_starved_vp8_encoder() -> None:
    """At the lowest bitrate aiortc's congestion control allows, the code still reads."""
    pattern = TestPattern()
    encoder, decoder = Vp8Encoder(), Vp8Decoder()
    encoder.target_bitrate = 1  # clamped to aiortc's MIN_BITRATE
    ok = 0
    for i in range(30):
        frame = pattern.frame(NOW_MS + i * 67)
        frame.pts = i * 6000
        frame.time_base = Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(vp8_depayload(p) for p in payloads)
        for decoded in decoder.decode(JitterFrame(data=data, timestamp=timestamp)):
            assert isinstance(decoded, VideoFrame)
            assert read_frame_timecode(decoded) == NOW_MS + i * 67
            ok += 1
    assert ok == 30


# -- the pattern scaled down (a booth out of the officer's focus sends 320x240) ----------------


def scaled(capture_ms: int, width: int, height: int) -> VideoFrame:
    """The 640x480 pattern for ``capture_ms`` scaled to ``width`` x ``height`` by swscale."""
    return TestPattern().frame(capture_ms).reformat(width=width, height=height)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=MIN_READ_WIDTH // 2, max_value=WIDTH // 2), st.integers(0, 10_000))
def test_timecode_reads_from_the_pattern_scaled_down_to_half(half_width: int, step: int) -> None:
    width = 2 * half_width
    height = 2 * round(width * 3 / 8)  # 4:3, even
    assert read_frame_timecode(scaled(NOW_MS + step, width, height)) == NOW_MS + step


def libvpx_cbr(width: int, height: int, bitrate: int, fps: int) -> av.VideoCodecContext:
    """A libvpx encoder at a constant ``bitrate``, set up the way aiortc sets up its own."""
    codec = av.CodecContext.create("libvpx", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate = bitrate
    codec.time_base = Fraction(1, fps)
    codec.options = {"deadline": "realtime", "cpu-used": "-6", "lag-in-frames": "0",
                     "minrate": str(bitrate), "maxrate": str(bitrate),
                     "bufsize": str(bitrate), "undershoot-pct": "100"}
    return codec


def test_timecode_survives_libvpx_at_150_kbps_at_320x240() -> None:
    """Three seconds of the half-size pattern at the booth's out-of-focus bitrate: every
    decoded frame is 320x240 and reads its own capture time."""
    fps = 15
    encoder = libvpx_cbr(320, 240, 150_000, fps)
    decoder = av.CodecContext.create("libvpx", "r")
    sent = [NOW_MS + i * 1000 // fps for i in range(3 * fps)]
    read: list[int] = []
    encoded = 0
    for i, capture_ms in enumerate(sent):
        frame = scaled(capture_ms, 320, 240)
        frame.pts = i
        for packet in encoder.encode(frame):
            encoded += packet.size
            for decoded in decoder.decode(packet):
                assert isinstance(decoded, VideoFrame)
                assert (decoded.width, decoded.height) == (320, 240)
                read.append(read_frame_timecode(decoded))
    assert read == sent
    assert encoded / len(sent) < 1.5 * 150_000 / 8 / fps  # the rate really was 150 kbps


def test_a_flipped_block_at_half_size_is_caught_by_the_checksum() -> None:
    luma = frame_luma(scaled(NOW_MS, 320, 240)).copy()
    half = BLOCK_PX // 2
    luma[:half, 5 * half : 6 * half] = 255 - luma[half // 2, 5 * half + half // 2]
    with pytest.raises(TimecodeError, match="checksum"):
        read_timecode(luma)
    noise = np.random.default_rng(2).integers(0, 256, (240, 320), dtype=np.uint8)
    with pytest.raises(TimecodeError):
        read_timecode(noise)


def test_a_picture_smaller_than_half_the_pattern_is_refused_not_misread() -> None:
    quarter = frame_luma(scaled(NOW_MS, 160, 120))
    with pytest.raises(TimecodeError, match=r"\(120, 160\) is too small.* at least 320 px wide"):
        read_timecode(quarter)
    with pytest.raises(TimecodeError, match=r"\(240, 318\) is too small"):
        read_timecode(frame_luma(scaled(NOW_MS, 318, 240)))
    # 320 wide, but fewer rows than the strip scaled by 0.5 (20).
    with pytest.raises(TimecodeError, match=r"\(19, 320\) is too small"):
        read_timecode(np.zeros((19, 320), dtype=np.uint8))
