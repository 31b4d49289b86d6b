"""Frame meter and loop-lag accounting: pure, driven by the times passed in."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bilik.webrtc import limits
from bilik.webrtc.looplag import LoopLagMonitor
from bilik.webrtc.meter import FrameMeter, capture_time_ms, percentile

T0 = 1_760_000_000_000


def test_steady_stream_reads_its_frame_rate_and_latency() -> None:
    meter = FrameMeter(window_s=2.0)
    for i in range(60):  # 4 s at 15 fps, 20 ms latency each
        at = T0 + i * 1000 // 15
        assert meter.frame(at, at - 20) == 20
    reading = meter.reading(T0 + 59 * 1000 // 15)
    assert reading.frames == 60
    assert 14.5 <= reading.fps <= 15.5
    assert reading.p50_ms == reading.p95_ms == reading.p99_ms == 20


def test_frame_rate_falls_to_zero_when_frames_stop() -> None:
    meter = FrameMeter(window_s=2.0)
    for i in range(30):
        meter.frame(T0 + i * 67, T0 + i * 67 - 10)
    assert meter.fps(T0 + 30 * 67 + 2500) == 0


def test_percentiles_use_nearest_rank_and_refuse_nonsense() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile(values, 101)


def test_unreadable_and_implausible_frames_are_counted_not_averaged() -> None:
    meter = FrameMeter()
    meter.frame(T0, T0 - 15)
    assert meter.frame(T0 + 67, None) is None
    assert meter.frame(T0 + 134, T0 + 500) is None  # from the future: clocks disagree
    assert meter.frame(T0 + 201, T0 - limits.MAX_PLAUSIBLE_LATENCY_MS - 1) is None
    reading = meter.reading(T0 + 201)
    assert (reading.frames, reading.unreadable, reading.implausible) == (4, 1, 2)
    assert meter.latencies() == [15]


def test_percentiles_can_be_limited_to_recent_frames() -> None:
    meter = FrameMeter()
    meter.frame(T0, T0 - 500)  # warm-up: slow first keyframe
    for i in range(1, 11):
        meter.frame(T0 + i * 67, T0 + i * 67 - 10)
    assert meter.reading(T0 + 700).p99_ms == 500
    assert meter.reading(T0 + 700, since_ms=T0 + 1).p99_ms == 10


def test_live_timecodes_are_capture_times_and_loop_positions_resolve_to_the_last_slot() -> None:
    assert capture_time_ms(T0 - 12, T0) == T0 - 12
    loop = limits.REPLAY_LOOP_MS
    slot_start = (T0 // loop) * loop
    position = 1333
    now = slot_start + position + 25  # 25 ms after the frame's instant in this slot
    assert capture_time_ms(position, now) == slot_start + position
    # Just before its instant in this slot: it belongs to the previous slot.
    assert capture_time_ms(position, slot_start + position - 5) == slot_start - loop + position


def test_loop_lag_above_the_threshold_is_counted_and_logged_once_per_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    seen: list[float] = []
    monitor = LoopLagMonitor(warn_s=0.05, on_lag=seen.append, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="bilik.webrtc.looplag"):
        monitor.record(0.01)
        monitor.record(0.2)
        monitor.record(0.3)
        now[0] += limits.LOOP_LAG_LOG_EVERY_S
        monitor.record(0.1)
    assert seen == [0.01, 0.2, 0.3, 0.1]
    assert monitor.over_threshold == 3
    assert monitor.max_lag_s == 0.3
    assert [r.getMessage() for r in caplog.records] == ["event loop lagging"] * 2


def _block(seconds: float) -> None:
    time.sleep(seconds)  # what a heavy per-frame step on the loop would do


async def test_loop_lag_monitor_sees_a_blocked_loop() -> None:
    lagged = asyncio.Event()
    monitor = LoopLagMonitor(
        interval_s=0.02, warn_s=0.05, on_lag=lambda lag: lagged.set() if lag > 0.05 else None
    )
    monitor.start()
    try:
        asyncio.get_running_loop().call_soon(_block, 0.3)
        await asyncio.wait_for(lagged.wait(), 30)
    finally:
        await monitor.stop()
    assert monitor.max_lag_s >= 0.2
    assert monitor.over_threshold >= 1
