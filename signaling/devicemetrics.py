"""Device health on ``/metrics``: one series per device, part and health state.

``bilik_device_health{device="booth-01",kind="printer",health="error"} 1`` and 0 for the
other states of :class:`bilik.devicehealth.DeviceHealth`, the way Prometheus shows an enum,
so an alert rule reads ``bilik_device_health{health!="ok"} == 1``. The values are read at
scrape time from the health the devices last reported (nothing is kept twice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bilik.devicehealth import DeviceHealth
from signaling.managerviews import part_health


class DeviceHealthCollector(Collector):
    def __init__(self, health: Callable[[], Mapping[str, Mapping[str, str]]]) -> None:
        self._health = health

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "bilik_device_health",
            "Health each device last reported for each of its parts (1: the part's state)",
            labels=["device", "kind", "health"])
        for device, parts in sorted(self._health().items()):
            for kind, word in sorted(parts.items()):
                now = part_health(kind, word).health
                for state in DeviceHealth:
                    family.add_metric([device, kind, state.value], 1.0 if state is now else 0.0)
        yield family
