"""The queue feature's figures on ``/metrics``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge


class QueueMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.decisions = Counter("bilik_queue_decisions", "Queue decisions, by kind", ["kind"],
                                 registry=registry)
        self.waiting = Gauge("bilik_queue_waiting", "Tickets waiting to be called",
                             registry=registry)
        self.max_wait = Gauge("bilik_queue_expected_wait_max_seconds",
                              "Longest expected wait of a waiting ticket", registry=registry)
        self.at_risk = Counter("bilik_queue_appointments_at_risk",
                               "Appointment late alerts raised", registry=registry)
        self.refused = Counter("bilik_queue_refused", "Queue events refused, by code", ["code"],
                               registry=registry)
        # Today's figures (local day), refreshed every branchqueue.STATS_REFRESH_S from the journal.
        self.today = Gauge("bilik_queue_today", "Today's queue figures, by figure", ["figure"],
                           registry=registry)

    def publish(self, day: dict[str, Any]) -> None:
        figures = {
            "issued": day.get("issued"),
            "claims": day.get("claims"),
            "no_shows": day.get("no_shows"),
            "bookings_missed": day.get("bookings_missed"),
            "late_alerts": day.get("late_alerts"),
            "wait_p50_seconds": day.get("wait", {}).get("p50_s"),
            "wait_p95_seconds": day.get("wait", {}).get("p95_s"),
            "handle_p50_seconds": day.get("handle", {}).get("p50_s"),
            "claims_per_officer_hour": day.get("claims_per_officer_hour"),
            "officer_utilisation": day.get("officer_utilisation"),
            "appointments_within_sla": day.get("appointments_within_sla"),
            "appointment_lateness_p95_seconds": day.get("appointment_lateness_p95_s"),
        }
        for name, value in figures.items():
            self.today.labels(name).set(float("nan") if value is None else float(value))
