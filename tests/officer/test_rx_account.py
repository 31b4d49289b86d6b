"""What a booth sends, counted by whether it was in focus; the hub's event-loop lag window."""

from __future__ import annotations

from officer.health import lag_window
from officer.metrics import HubMetrics
from officer.peers import HubPeer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_received_bytes_go_to_the_focus_they_came_in() -> None:
    clock = Clock()
    peer = HubPeer("pair-1", "booth-01", metrics=HubMetrics(), monotonic=clock)
    peer.count_rx(10_000)  # the first count only sets the baseline
    assert peer.rx_waiting.bytes == 0 and peer.rx_focused.bytes == 0
    clock.now += 2.0
    peer.count_rx(30_000)  # waiting: 20 kB in 2 s
    peer.focused = True
    clock.now += 1.0
    peer.count_rx(130_000)  # in focus: 100 kB in 1 s
    assert (peer.rx_waiting.bytes, peer.rx_waiting.seconds) == (20_000, 2.0)
    assert (peer.rx_focused.bytes, peer.rx_focused.seconds) == (100_000, 1.0)
    assert peer.rx_bytes == 130_000
    reading = peer.reading()
    assert reading["rx_focused"] == {"bytes": 100_000, "seconds": 1.0}
    assert reading["rx_waiting"] == {"bytes": 20_000, "seconds": 2.0}


def test_a_counter_that_starts_again_is_a_new_baseline() -> None:
    clock = Clock()
    peer = HubPeer("pair-1", "booth-01", metrics=HubMetrics(), monotonic=clock)
    peer.count_rx(50_000)
    clock.now += 1.0
    peer.count_rx(4_000)  # a new connection (the booth offered again): counters restart
    assert peer.rx_waiting.bytes == 0
    clock.now += 1.0
    peer.count_rx(9_000)
    assert (peer.rx_waiting.bytes, peer.rx_waiting.seconds) == (5_000, 1.0)


def test_lag_window_percentiles_in_ms() -> None:
    assert lag_window([]) == {"probes": 0, "p50": None, "p99": None, "max": None}
    lags = [0.001] * 98 + [0.2, 0.6]
    window = lag_window(lags)
    assert window == {"probes": 100, "p50": 1.0, "p99": 200.0, "max": 600.0}
