"""Which addresses ICE may use: the branch network only.

aioice gathers a host candidate on every address of every interface except 127.0.0.1
(``aioice.ice.get_host_addresses``), and a peer's candidates are taken as they come. A
booth PC with a second network card (a vendor's maintenance link, a guest Wi-Fi) would
offer and try those too. A deployment pins ICE to the branch LAN; the tests and
benchmarks pin it to loopback, so that no media ever leaves the machine.

The setting (``ice_addresses`` of the booth and the hub) is a list of entries, each an
interface name (``eth0``), an address (``192.168.10.21``, ``127.0.0.1``) or a network
(``192.168.10.0/24``, ``127.0.0.0/8``). Empty: aioice's own choice. :func:`restrict` sets
it for the process (aioice reads host addresses from a module function, so the policy is
per process, which is what a booth or hub process is). An empty setting takes the
environment variable ``BILIK_ICE_ADDRESSES`` (same syntax), so that a test run or a
benchmark pins every process it starts, helpers included; without it, aioice's choice.
:func:`allowed` tells whether a remote candidate's address is within it, and
:func:`filter_sdp` drops the candidates of a remote description that are not (a browser
offers every address it has).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import aioice.ice
import ifaddr

from bilik.webrtc.errors import WebRtcError

log = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV = "BILIK_ICE_ADDRESSES"
_ORIGINAL = aioice.ice.get_host_addresses
_lock = threading.Lock()


class IcePolicyError(WebRtcError):
    """An ``ice_addresses`` entry that is no interface, address or network."""


@dataclass(frozen=True)
class IcePolicy:
    """Parsed ``ice_addresses``: interface names and networks (an address is a /32)."""

    interfaces: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = ()

    @property
    def open(self) -> bool:
        return not self.interfaces and not self.networks

    @classmethod
    def parse(cls, entries: Sequence[str] | str) -> IcePolicy:
        if isinstance(entries, str):
            entries = [e for e in entries.replace(",", " ").split() if e]
        interfaces: set[str] = set()
        networks: list[IpNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not entry.replace("-", "").replace("_", "").replace(".", "").isalnum() \
                    or len(entry) > 15 or entry[0].isdigit():
                raise IcePolicyError(
                    f"ice_addresses: {entry!r} is not an interface name, an IP address or a "
                    "network such as 192.168.10.0/24")
            interfaces.add(entry)
        return cls(frozenset(interfaces), tuple(networks))

    def admits(self, address: str, interface: str | None = None) -> bool:
        """Whether ``address`` (on ``interface``, when known) may carry ICE."""
        if self.open:
            return True
        if interface is not None and interface in self.interfaces:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False  # a host name (mDNS ``.local``): not an address of ours to admit
        return any(ip in net for net in self.networks)

    def host_addresses(self, use_ipv4: bool, use_ipv6: bool) -> list[str]:
        """This machine's addresses the policy admits, loopback included when admitted."""
        found: list[str] = []
        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str):
                    if use_ipv4 and self.admits(ip.ip, adapter.nice_name):
                        found.append(ip.ip)
                elif use_ipv6 and ip.ip[2] == 0 and self.admits(ip.ip[0], adapter.nice_name):
                    found.append(ip.ip[0])
        return found


_policy = IcePolicy()
_configured = False


def policy() -> IcePolicy:
    return _policy


def ensure_configured() -> None:
    """Apply ``BILIK_ICE_ADDRESSES`` once, if nothing called :func:`restrict` yet
    (every peer connection is built through here: a helper process is pinned too)."""
    if not _configured:
        restrict([])


def restrict(entries: Sequence[str] | str) -> IcePolicy:
    """Use only the admitted addresses for ICE in this process, from now on.

    Raises :class:`IcePolicyError` for a bad entry, or when no address of this machine
    is admitted (a call could then never connect: better said at start).
    """
    global _policy, _configured
    if not entries:
        entries = os.environ.get(ENV, "")
    parsed = IcePolicy.parse(entries)
    with _lock:
        _configured = True
        if parsed.open:
            _policy = parsed
            aioice.ice.get_host_addresses = _ORIGINAL
            return parsed
        if not parsed.host_addresses(True, True):
            raise IcePolicyError(
                "ice_addresses admits no address of this machine: "
                f"{', '.join(entries if not isinstance(entries, str) else [entries])}")
        _policy = parsed
        aioice.ice.get_host_addresses = parsed.host_addresses
    log.info("ICE restricted to %s", ", ".join(parsed.host_addresses(True, True)))
    return parsed


def allowed(address: str) -> bool:
    """Whether a remote candidate at ``address`` is within this process's policy."""
    return _policy.admits(address)


def candidate_address(candidate: str) -> str | None:
    """The connection address of an SDP candidate line (``candidate:...`` or bare)."""
    parts = candidate.removeprefix("a=").removeprefix("candidate:").split()
    return parts[4] if len(parts) >= 8 else None


def filter_sdp(sdp: str) -> str:
    """``sdp`` without the candidates the policy does not admit."""
    if _policy.open:
        return sdp
    kept = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            address = candidate_address(line)
            if address is None or not allowed(address):
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"
