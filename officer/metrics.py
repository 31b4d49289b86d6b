"""The hub's metrics (Prometheus text at ``/metrics``) and health (JSON at ``/healthz``).

Each hub has its own registry, so that two hubs in one test process do not collide.
Per-booth series are removed when the booth's slot is freed.
"""

from __future__ import annotations

import contextlib

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from officer import limits

__all__ = ["CONTENT_TYPE", "HubMetrics"]


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.booths = Gauge("bilik_hub_booths", "Booths with a call slot on this hub", registry=r)
        self.slots_free = Gauge("bilik_hub_slots_free", "Free call slots", registry=r)
        self.fps = Gauge(
            "bilik_hub_booth_fps", "Decoded frames a second per booth", ["booth"], registry=r
        )
        self.frames = Counter(
            "bilik_hub_booth_frames", "Decoded frames per booth", ["booth"], registry=r
        )
        self.unreadable = Counter(
            "bilik_hub_booth_unreadable_timecodes",
            "Decoded frames whose timecode could not be read",
            ["booth"],
            registry=r,
        )
        self.latency = Histogram(
            "bilik_hub_booth_latency_seconds",
            "Capture-to-decode latency per booth",
            ["booth"],
            buckets=limits.LATENCY_BUCKETS_S,
            registry=r,
        )
        self.latency_p95 = Gauge(
            "bilik_hub_booth_latency_p95_seconds",
            "95th percentile of recent capture-to-decode latency per booth",
            ["booth"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "bilik_hub_loop_lag_seconds",
            "How late the event loop ran a due callback",
            buckets=limits.LOOP_LAG_BUCKETS_S,
            registry=r,
        )
        self.loop_lag_over = Counter(
            "bilik_hub_loop_lag_over_threshold",
            "Event-loop lag probes above the warning threshold",
            registry=r,
        )
        self.slots_freed = Counter(
            "bilik_hub_slots_freed", "Call slots freed, by reason", ["reason"], registry=r
        )
        self.focus_switch = Histogram(
            "bilik_hub_focus_switch_seconds",
            "From a focus change to the first packet of the new stream sent, per booth track",
            ["kind"],
            buckets=limits.LATENCY_BUCKETS_S,
            registry=r,
        )
        self.refused = Counter(
            "bilik_hub_pairings_refused", "Pairings refused because the hub was full", registry=r
        )

    def forget(self, booth: str) -> None:
        for family in (self.fps, self.frames, self.unreadable, self.latency, self.latency_p95):
            with contextlib.suppress(KeyError):
                family.remove(booth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
