"""Prometheus metrics of one head-office process (each process counts its own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class HeadOfficeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stored = Counter("bilik_headoffice_bundles_stored", "Bundles verified and stored",
                              registry=self.registry)
        self.duplicates = Counter("bilik_headoffice_bundles_duplicate",
                                  "Bundles sent again and acknowledged again (stored once)",
                                  registry=self.registry)
        self.refused = Counter("bilik_headoffice_bundles_refused",
                               "Bundles refused (altered, forged, another branch's)",
                               registry=self.registry)
        self.bytes = Counter("bilik_headoffice_upload_bytes", "Upload bytes received",
                             registry=self.registry)
        self.unauthorized = Counter("bilik_headoffice_unauthorized",
                                    "Requests refused for their signature or branch",
                                    registry=self.registry)
        self.verify_seconds = Histogram("bilik_headoffice_finish_seconds",
                                        "Time to verify and store a finished upload",
                                        registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
