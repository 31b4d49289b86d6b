"""Every limit and timeout of the officer hub, named, in one place."""

from __future__ import annotations

MAX_BOOTHS = 6  # one officer serves at most six booths at once
MEDIA_OFFLINE_TIMEOUT_S = 5.0  # a booth whose video stopped this long is offline: slot freed
NEGOTIATION_TIMEOUT_S = 20.0  # a paired booth whose call is not up by then is dropped
REPORT_INTERVAL_S = 5.0  # per-booth frame rate and latency are logged this often
WATCH_INTERVAL_S = 0.5  # how often peers are checked against the timeouts above
CONNECT_TIMEOUT_S = 30.0  # first connection to the branch server at start
METRICS_PORT = 8780
LATENCY_BUCKETS_S = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
LOOP_LAG_BUCKETS_S = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
