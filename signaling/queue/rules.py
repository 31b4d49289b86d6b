"""The queue's rules: timeouts, windows and thresholds the branch may configure.

``QueueRules`` is a frozen dataclass of :func:`bilik.config.setting` fields, so the server's
config can embed it (``load(QueueRules, "queue")``) and ``bilik config`` can describe it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bilik.config import setting
from signaling.protocol_enums import DEFAULT_SERVICES

__all__ = ["DEFAULT_SERVICES", "QueueRules"]  # DEFAULT_SERVICES is the protocol's


@dataclass(frozen=True)
class QueueRules:
    claim_timeout_s: float = setting(
        90.0,
        "seconds a called ticket has to claim its booth before it is recalled",
        min=10,
        max=900,
    )
    recalls: int = setting(
        1, "times an unclaimed ticket is called again before it is a no-show", min=0, max=5
    )
    check_in_early_s: float = setting(
        3600.0, "how long before its slot a booking may check in", min=0, max=86400
    )
    check_in_late_s: float = setting(
        900.0, "how long after its slot a booking may still check in", min=0, max=7200
    )
    call_early_s: float = setting(
        300.0, "how long before its slot a checked-in booking may be called", min=0, max=3600
    )
    sla_late_s: float = setting(
        300.0, "an appointment that starts later than this after its slot is late", min=0, max=3600
    )
    risk_margin_s: float = setting(
        60.0,
        "raise the late alert when the predicted lateness is within this of the SLA",
        min=0,
        max=3600,
    )
    forecast_interval_s: float = setting(
        30.0, "seconds between two forecasts of waits and late appointments", min=1, max=600
    )
    spill_after_s: float = setting(
        120.0,
        "an appointment paired but not attended this long moves to an idle officer",
        min=0,
        max=3600,
    )
    default_handle_s: float = setting(
        1200.0,
        "booth occupancy assumed by the forecast before any claim was measured",
        min=60,
        max=7200,
    )
    default_walk_s: float = setting(
        60.0, "call-to-claim time assumed by the forecast before any was measured", min=0, max=900
    )
    services: dict[str, str] = setting(
        dict(DEFAULT_SERVICES), "service type -> ticket letter (A001, B001...)"
    )
    appointment_letter: str = setting("R", "ticket letter of checked-in bookings (R001...)")
    utc_offset_min: int = setting(
        420,
        "branch time zone as minutes east of UTC (WIB = 420); days turn at local midnight",
        min=-720,
        max=840,
    )
