"""The hub's health over HTTP: ``/healthz`` (JSON) and ``/metrics`` (Prometheus text).

``/healthz?since_ms=`` limits the latency percentiles and the event-loop lag window to
what came since then (the benchmarks measure windows with it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bilik.webrtc.meter import percentile
from officer.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from officer.hub import Hub

log = logging.getLogger("officer.hub")  # the hub's log lines, as before
HUB_KEY: web.AppKey[Any] = web.AppKey("bilik_hub")


def refresh_gauges(hub: Hub, *, log_readings: bool) -> None:
    """Each booth's frame rate and latency on /metrics; in the log when ``log_readings``."""
    for peer in hub.peers.values():
        reading = peer.meter.reading(int(hub.clock() * 1000))
        hub.metrics.fps.labels(peer.booth).set(reading.fps)
        if reading.p95_ms is not None:
            hub.metrics.latency_p95.labels(peer.booth).set(reading.p95_ms / 1000)
        if log_readings:
            log.info("booth video", extra={"fields": {
                "booth": peer.booth, "state": peer.state.value, "fps": reading.fps,
                "p50_ms": reading.p50_ms, "p95_ms": reading.p95_ms, "frames": reading.frames,
                "unreadable": reading.unreadable}})


def add_routes(app: web.Application, hub: Hub) -> None:
    app[HUB_KEY] = hub
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)


def report(hub: Hub, since_ms: int | None = None) -> dict[str, Any]:
    """Health and per-booth figures; latency percentiles of frames since ``since_ms``."""
    return {
        "status": "ok" if hub.client.connected else "degraded",
        "device": hub.device_id,
        "signaling": hub.client.state.value,
        "max_booths": hub.config.max_booths,
        "slots_free": hub.free_slots,
        "now_ms": int(hub.clock() * 1000),
        "booths": {peer.booth: peer.reading(since_ms) for peer in hub.peers.values()},
        "focused": hub.focused,
        "focus_changes": hub.focus_changes,
        "switch_ms": [
            {"kind": kind, "ms": round(s * 1000, 1)} for kind, s in hub.switch_times_s
        ],
        "return_streams": {
            s.name: {
                "frames": s.stats.frames,
                "keyframes": s.stats.keyframes,
                "bytes": s.stats.bytes,
                "encode_s": round(s.stats.encode_s, 3),
                "subscribers": s.subscribers,
            }
            for s in hub.streams.all
        },
        "officer_media": hub.officer_media(),
        "headset_packets": {peer.booth: peer.heard_packets for peer in hub.peers.values()},
        "recordings": hub.recordings.health(),
        "loop_lag_ms": {
            "last": round(hub.lag.last_lag_s * 1000, 2),
            "max": round(hub.lag.max_lag_s * 1000, 2),
            "over_threshold": hub.lag.over_threshold,
            "threshold": hub.lag.warn_s * 1000,
            "window": lag_window([lag for at, lag in list(hub.lag_samples)
                                  if since_ms is None or at >= since_ms]),
        },
    }


async def _healthz(request: web.Request) -> web.Response:
    raw = request.query.get("since_ms")
    since: int | None = None
    if raw is not None:
        try:
            since = int(raw)
        except ValueError:
            raise web.HTTPBadRequest(
                text="since_ms must be an integer (ms since the epoch)"
            ) from None
    return web.json_response(report(request.app[HUB_KEY], since))


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[HUB_KEY].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def lag_window(lags_s: list[float]) -> dict[str, float | int | None]:
    """Event-loop lag probes of a window: how many, and p50/p99/max in ms."""
    ordered = sorted(lags_s)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "probes": len(ordered),
        "p50": ms(percentile(ordered, 50)) if ordered else None,
        "p99": ms(percentile(ordered, 99)) if ordered else None,
        "max": ms(ordered[-1]) if ordered else None,
    }
