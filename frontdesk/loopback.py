"""An HTTP endpoint meant for this machine only (the kiosk's control and page, the TV
page) must be bound to a loopback address: the check both front-desk agents use."""

from __future__ import annotations

import ipaddress

from bilik.errors import ConfigError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(key: str, host: str) -> str:
    if not is_loopback(host):
        raise ConfigError(
            key, f"{host!r} is not a loopback address; this endpoint is for this machine only "
            "(127.0.0.1, ::1 or localhost)"
        )
    return host
