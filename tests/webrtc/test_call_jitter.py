"""The marker jitter buffer: a frame leaves on the packet that completes it, not one frame later."""

from __future__ import annotations

import random
from fractions import Fraction

import aiortc.rtcrtpreceiver
import pytest
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket
from av import VideoFrame

from bilik.webrtc import jitter
from bilik.webrtc.errors import JitterHookError
from bilik.webrtc.jitter import MarkerJitterBuffer
from hardware.testpattern import TestPattern, read_frame_timecode

CAPACITY = 128


def packet(
    seq: int, timestamp: int, *, marker: bool = False, data: bytes | None = None
) -> RtpPacket:
    p = RtpPacket(
        payload_type=96, marker=int(marker), sequence_number=seq % 65536, timestamp=timestamp
    )
    p._data = data if data is not None else f"{seq}:".encode()  # type: ignore[attr-defined]
    return p


def frame_packets(first_seq: int, timestamp: int, count: int) -> list[RtpPacket]:
    return [
        packet(first_seq + i, timestamp, marker=i == count - 1, data=bytes([timestamp % 256, i]))
        for i in range(count)
    ]


def test_single_packet_frame_is_released_on_its_own_marker_packet() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    pli, frame = buffer.add(packet(10, 3000, marker=True, data=b"abc"))
    assert not pli
    assert frame is not None and frame.data == b"abc" and frame.timestamp == 3000


def test_aiortc_buffer_holds_the_same_frame_until_the_next_one_starts() -> None:
    """The problem being fixed: aiortc's own buffer keeps the complete frame a frame period."""
    buffer = JitterBuffer(CAPACITY, is_video=True)
    assert buffer.add(packet(10, 3000, marker=True))[1] is None
    released = buffer.add(packet(11, 9000))[1]
    assert released is not None and released.timestamp == 3000


def test_multi_packet_frame_is_released_on_the_marker_and_in_order() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    packets = frame_packets(100, 6000, 4)
    for p in packets[:-1]:
        assert buffer.add(p)[1] is None
    frame = buffer.add(packets[-1])[1]
    assert frame is not None
    assert frame.data == b"".join(p._data for p in packets)  # type: ignore[attr-defined]
    assert buffer.released_on_marker == 1


def test_consecutive_frames_each_leave_on_their_own_marker() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    seq = 0
    for n in range(20):
        packets = frame_packets(seq, n * 6000, 3)
        seq += 3
        results = [buffer.add(p)[1] for p in packets]
        assert results[:2] == [None, None]
        assert results[2] is not None and results[2].timestamp == n * 6000
    assert buffer.released_on_marker == 20 and buffer.released_on_next == 0


def test_lost_packet_holds_the_frame_until_the_retransmission_fills_the_gap() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    f1 = frame_packets(200, 6000, 3)
    f2 = frame_packets(203, 12000, 2)
    assert buffer.add(f1[0])[1] is None
    assert buffer.add(f1[2])[1] is None  # marker arrives, middle packet missing: not complete
    assert buffer.add(f2[0])[1] is None
    assert buffer.add(f2[1])[1] is None  # frame 2 complete but must wait for frame 1
    retransmitted = buffer.add(f1[1])[1]  # the NACKed packet arrives (RTX)
    assert retransmitted is not None and retransmitted.timestamp == 6000
    assert retransmitted.data == b"".join(p._data for p in f1)  # type: ignore[attr-defined]
    # Frame 2 was complete behind it; it leaves on the next packet that arrives.
    following = buffer.add(packet(205, 18000))[1]
    assert following is not None and following.timestamp == 12000


def test_reordered_packets_release_the_frame_when_the_last_missing_one_arrives() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    p0, p1, p2, p3 = frame_packets(300, 6000, 4)
    for p in (p0, p3, p2):
        assert buffer.add(p)[1] is None
    frame = buffer.add(p1)[1]
    assert frame is not None
    assert frame.data == b"".join(p._data for p in (p0, p1, p2, p3))  # type: ignore[attr-defined]


def test_late_duplicate_of_a_released_packet_is_ignored() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    f1 = frame_packets(400, 6000, 2)
    for p in f1:
        buffer.add(p)
    assert buffer.add(f1[1])[1] is None
    frame = [buffer.add(p)[1] for p in frame_packets(402, 12000, 2)][-1]
    assert frame is not None and frame.timestamp == 12000


def test_sender_without_marker_bits_still_gets_frames_out_the_old_way() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    assert buffer.add(packet(500, 6000))[1] is None
    assert buffer.add(packet(501, 6000))[1] is None
    frame = buffer.add(packet(502, 12000))[1]
    assert frame is not None and frame.timestamp == 6000
    assert buffer.released_on_next == 1


def test_sequence_numbers_wrapping_at_65536() -> None:
    buffer = MarkerJitterBuffer(CAPACITY, is_video=True)
    packets = frame_packets(65534, 6000, 4)  # 65534, 65535, 0, 1
    assert [p.sequence_number for p in packets] == [65534, 65535, 0, 1]
    assert [buffer.add(p)[1] is None for p in packets] == [True, True, True, False]


def test_overflow_past_a_lost_frame_asks_for_a_keyframe_and_recovers() -> None:
    buffer = MarkerJitterBuffer(16, is_video=True)
    buffer.add(packet(0, 0))  # frame 0's remaining packets never arrive
    plis = []
    released = []
    for n in range(1, 31):
        for p in frame_packets(n * 2, n * 6000, 2):
            pli, frame = buffer.add(p)
            plis.append(pli)
            if frame is not None:
                released.append(frame.timestamp)
    assert any(plis)
    # Frames queued behind the hole leave one per arriving packet, in order, none lost,
    # and the buffer has caught up with the sender by the end.
    assert released == [n * 6000 for n in range(1, 31)]


def test_prefetch_is_refused() -> None:
    with pytest.raises(ValueError, match="prefetch"):
        MarkerJitterBuffer(CAPACITY, prefetch=2, is_video=True)


def test_real_vp8_frames_through_the_buffer_with_reordering_decode_exactly() -> None:
    """aiortc's VP8 packetizer and decoder around the buffer; packets shuffled within each frame."""
    rng = random.Random(7)
    pattern = TestPattern()
    encoder, decoder = Vp8Encoder(), Vp8Decoder()
    buffer = MarkerJitterBuffer(512, is_video=True)
    seq = 1000
    decoded: list[int] = []
    expected: list[int] = []
    for i in range(30):
        capture_ms = 1_760_000_000_000 + i * 67
        frame = pattern.frame(capture_ms)
        frame.pts = i * 6000
        frame.time_base = Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame)
        packets = []
        for k, payload in enumerate(payloads):
            p = RtpPacket(
                payload_type=96,
                marker=int(k == len(payloads) - 1),
                sequence_number=seq % 65536,
                timestamp=timestamp,
                payload=payload,
            )
            p._data = vp8_depayload(payload)  # type: ignore[attr-defined]
            packets.append(p)
            seq += 1
        rng.shuffle(packets)
        released = [f for f in (buffer.add(p)[1] for p in packets) if f is not None]
        assert len(released) == 1, "each frame must leave with its last missing packet"
        for picture in decoder.decode(released[0]):
            assert isinstance(picture, VideoFrame)
            decoded.append(read_frame_timecode(picture))
        expected.append(capture_ms)
    assert decoded == expected


def test_install_hooks_video_receivers_only_and_is_idempotent() -> None:
    jitter.install()
    jitter.install()
    assert jitter.installed()
    factory = aiortc.rtcrtpreceiver.JitterBuffer
    assert isinstance(factory(capacity=512, is_video=True), MarkerJitterBuffer)
    audio = factory(capacity=16, prefetch=4)
    assert type(audio) is JitterBuffer


def test_another_aiortc_version_is_refused_loudly() -> None:
    with pytest.raises(JitterHookError, match=r"aiortc 1\.17\.0 is not a version"):
        jitter.check_aiortc_shape("1.17.0")
    jitter.check_aiortc_shape()  # the installed one is the checked one


def test_a_foreign_replacement_is_not_overwritten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "JitterBuffer", lambda **kw: None)
    with pytest.raises(JitterHookError, match="already replaced"):
        jitter.install()


def vp8_frame(first_seq: int, timestamp: int, count: int, *, key: bool) -> list[RtpPacket]:
    """Packets of one frame whose data starts with a VP8 frame tag (bit 0: 0 = key frame)."""
    tag = 0x10 if key else 0x11
    return [packet(first_seq + i, timestamp, marker=i == count - 1,
                   data=bytes([tag, i]) if i == 0 else bytes([timestamp % 256, i]))
            for i in range(count)]


def test_a_frame_whose_packet_never_comes_is_given_up_and_decoding_restarts_at_a_keyframe(
) -> None:
    """A lost packet that no retransmission brings back must not hold every later frame
    until the buffer overflows (seconds): the broken frame is dropped after
    MAX_FRAME_WAIT_TICKS of later packets, a keyframe is asked for, deltas wait for it."""
    buffer = MarkerJitterBuffer(512, is_video=True)
    period = 6000  # 15 fps at 90 kHz
    released: list[int] = []
    plis = 0
    seq = 0
    stream = [(0, True)] + [(n * period, False) for n in range(1, 12)] + [(12 * period, True),
                                                                         (13 * period, False)]
    for ts, key in stream:
        packets = vp8_frame(seq, ts, 3, key=key)
        seq += 3
        if ts == period:
            packets = packets[:1] + packets[2:]  # frame 1 loses its middle packet for good
        for p in packets:
            pli, frame = buffer.add(p)
            plis += pli
            if frame is not None:
                released.append(frame.timestamp)
    # Frame 0 decoded; frame 1 (broken) and the deltas after it never reach the decoder,
    # decoding restarts at the keyframe and goes on.
    assert released == [0, 12 * period, 13 * period]
    assert buffer.broken_dropped == 1 and buffer.waiting_dropped >= 1
    assert 1 <= plis <= 3  # asked, and again at most every half second of video


def test_a_late_retransmission_inside_the_wait_still_completes_its_frame() -> None:
    buffer = MarkerJitterBuffer(512, is_video=True)
    first = vp8_frame(0, 0, 3, key=True)
    second = vp8_frame(3, 6000, 3, key=False)
    third = vp8_frame(6, 12000, 3, key=False)
    for p in first:
        buffer.add(p)
    for p in [second[0], second[2], *third]:
        assert buffer.add(p)[1] is None  # frame 2 waits for its middle packet
    _pli, frame = buffer.add(second[1])  # the retransmission, 2 frames later
    assert frame is not None and frame.timestamp == 6000 and buffer.broken_dropped == 0
