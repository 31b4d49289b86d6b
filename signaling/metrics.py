"""Prometheus metrics of the branch server, on a registry of its own (one per server)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from signaling.protocol import Role

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.devices = Gauge(
            "bilik_connected_devices", "Devices connected now, by role", ["role"],
            registry=self.registry,
        )
        for role in Role:
            self.devices.labels(role.value).set(0)
        self.messages = Counter(
            "bilik_messages", "Messages received from devices, by type", ["type"],
            registry=self.registry,
        )
        self.errors = Counter(
            "bilik_errors", "Error replies sent to devices, by code", ["code"],
            registry=self.registry,
        )
        self.relayed = Counter(
            "bilik_relayed_messages", "SDP and ICE messages relayed between paired devices",
            registry=self.registry,
        )
        self.pairings_active = Gauge(
            "bilik_pairings_active", "Booth-hub pairings in force", registry=self.registry
        )
        self.pairings = Counter(
            "bilik_pairings", "Booth-hub pairings made", registry=self.registry
        )
        self.disconnects = Counter(
            "bilik_disconnects", "Device connections closed, by reason", ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
