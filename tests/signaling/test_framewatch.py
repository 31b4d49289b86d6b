"""FrameWatch, the pure core that tells when a WebSocket message is being assembled."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from signaling.framewatch import FrameWatch
from tests.signaling.test_limits import _frame

PING = _frame(b"", opcode=0x9)
PONG = _frame(b"hi", opcode=0xA)


def _feed_split(watch: FrameWatch, data: bytes, cuts: list[int], now: float) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for a, b in itertools.pairwise(points):
        watch.feed(data[a:b], now)


@given(sizes=st.lists(st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, 70000]),
                      min_size=1, max_size=4),
       cuts=st.lists(st.integers(min_value=0, max_value=300_000), max_size=30))
def test_whole_frames_however_split_leave_nothing_in_progress(
    sizes: list[int], cuts: list[int],
) -> None:
    stream = b"".join(_frame(b"x" * n) + PONG for n in sizes)
    watch = FrameWatch()
    _feed_split(watch, stream, cuts, now=1.0)
    assert watch.busy_since is None
    assert not watch.overdue(1000.0, 1.0)


@given(n=st.integers(min_value=1, max_value=70000), cut=st.integers(min_value=1))
def test_a_partial_frame_is_in_progress_since_its_first_byte(n: int, cut: int) -> None:
    frame = _frame(b"y" * n)
    watch = FrameWatch()
    watch.feed(frame[: 1 + cut % (len(frame) - 1)], now=5.0)
    assert watch.busy_since == 5.0
    watch.feed(b"", now=9.0)
    assert watch.overdue(9.0, 3.0) and not watch.overdue(7.0, 3.0)


def test_a_fragmented_message_stays_in_progress_across_control_frames() -> None:
    watch = FrameWatch()
    watch.feed(_frame(b"part1", fin=False), now=1.0)
    assert watch.busy_since == 1.0
    watch.feed(PING + PONG, now=2.0)  # the client answers pings between fragments
    watch.feed(_frame(b"part2", opcode=0x0, fin=False), now=3.0)
    assert watch.busy_since == 1.0 and watch.overdue(10.0, 5.0)
    watch.feed(_frame(b"end", opcode=0x0, fin=True), now=4.0)
    assert watch.busy_since is None


def test_a_close_frame_ends_the_watch() -> None:
    watch = FrameWatch()
    watch.feed(_frame(b"\x03\xe8", opcode=0x8) + b"garbage after close", now=1.0)
    assert watch.closed and watch.busy_since is None
