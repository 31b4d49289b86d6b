"""Roles and match rules: which listed device plays which role, free of I/O.

Configuration binds each :class:`Role` to a device with a match rule (``[hardware]`` in the
TOML file, see :mod:`hardware.config`). A rule is comma-separated ``key=value`` terms that
must all hold, or a bare path or URL::

    /dev/ttyUSB0                       the port at this path (by-id symlinks work too)
    socket://10.0.0.7:4001             a pyserial URL (network serial server, loop://...)
    usb=0416:5011                      USB vendor:product id (hex)
    usb=0416:5011,serial=A1B2C3        ...and the USB serial number
    location=1-1.4                     the USB port it is plugged into (same box every time)
    serial=A1B2C3,baud=19200           any of them plus the line speed

Matching a listing against the rules is :func:`resolve`; :mod:`hardware.registry` is the shell
that lists, opens and reopens.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hardware import limits
from hardware.config import HardwareConfig
from hardware.errors import DeviceAbsent, DeviceAmbiguous, DeviceRuleError, HardwareError
from hardware.hotplug import PortInfo
from hardware.serialport import HINT_ABSENT

RULE_KEYS = ("port", "url", "usb", "vid", "pid", "serial", "location", "baud")
RULE_FORMS = (
    "a path (/dev/ttyUSB0), a pyserial URL (socket://host:port) or comma-separated "
    "port=, url=, usb=VVVV:PPPP, vid=, pid=, serial=, location=, baud= terms"
)


class Role(enum.Enum):
    RECEIPT_PRINTER = "receipt_printer"
    TICKET_PRINTER = "ticket_printer"
    QUEUE_DISPLAY = "queue_display"
    READER = "reader"
    CAMERA = "camera"
    DOCUMENT_CAMERA = "document_camera"
    HAND_BUTTON = "hand_button"

    @property
    def kind(self) -> str:
        """ "video" for cameras (V4L2 devices), "serial" for the rest."""
        return "video" if self in (Role.CAMERA, Role.DOCUMENT_CAMERA) else "serial"


@dataclass(frozen=True)
class MatchRule:
    port: str | None = None
    url: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    location: str | None = None

    def matches(self, rec: PortInfo) -> bool:
        if self.port is not None:
            return rec.device == self.port
        if rec.link:  # by-id symlinks would make every usb= rule ambiguous
            return False
        checks = (
            (self.vid, rec.vid),
            (self.pid, rec.pid),
            (self.serial_number, rec.serial_number),
            (self.location, rec.location),
        )
        return all(want is None or want == got for want, got in checks)


@dataclass(frozen=True)
class DeviceSpec:
    role: Role
    rule: MatchRule
    text: str  # the rule as configured, for messages
    baudrate: int = limits.SERIAL_DEFAULT_BAUD


def _hex16(role: Role, key: str, value: str) -> int:
    try:
        number = int(value, 16)
    except ValueError:
        number = -1
    if not 0 <= number <= 0xFFFF:
        raise DeviceRuleError(f"{role.value}: {key}={value!r} is not a 4-digit hex USB id")
    return number


def parse_rule(role: Role, text: str) -> DeviceSpec:
    """Parse one role's match rule; :class:`DeviceRuleError` says what is wrong."""
    terms: dict[str, str] = {}
    for raw in text.split(","):
        term = raw.strip()
        if not term:
            continue
        if "://" in term and not term.startswith("url="):
            key, value = "url", term
        elif term.startswith("/") and "=" not in term:
            key, value = "port", term
        elif "=" in term:
            key, value = (s.strip() for s in term.split("=", 1))
        else:
            raise DeviceRuleError(f"{role.value}: cannot read {term!r}; expected {RULE_FORMS}")
        if key not in RULE_KEYS:
            raise DeviceRuleError(f"{role.value}: unknown key {key!r}; expected {RULE_FORMS}")
        if key in terms:
            raise DeviceRuleError(f"{role.value}: {key} given twice in {text!r}")
        if not value:
            raise DeviceRuleError(f"{role.value}: {key}= has no value")
        terms[key] = value
    rule: dict[str, Any] = {}
    if "usb" in terms:
        vid, sep, pid = terms["usb"].partition(":")
        if not sep:
            raise DeviceRuleError(f"{role.value}: usb={terms['usb']!r} must be VVVV:PPPP (hex)")
        rule["vid"], rule["pid"] = _hex16(role, "usb", vid), _hex16(role, "usb", pid)
    for key in ("vid", "pid"):
        if key in terms:
            if key in rule:
                raise DeviceRuleError(f"{role.value}: give either usb= or {key}=, not both")
            rule[key] = _hex16(role, key, terms[key])
    for key, attr in (("port", "port"), ("url", "url"), ("serial", "serial_number")):
        if key in terms:
            rule[attr] = terms[key]
    if "location" in terms:
        rule["location"] = terms["location"]
    if not rule:
        raise DeviceRuleError(
            f"{role.value}: the rule {text!r} matches nothing; expected {RULE_FORMS}"
        )
    if ("port" in rule or "url" in rule) and len(rule) > 1:
        raise DeviceRuleError(f"{role.value}: a port or URL rule cannot be combined with others")
    baud = terms.get("baud", str(limits.SERIAL_DEFAULT_BAUD))
    if not baud.isdigit() or not 50 <= int(baud) <= 4_000_000:
        raise DeviceRuleError(f"{role.value}: baud={baud!r} is not a line speed")
    return DeviceSpec(role, MatchRule(**rule), text.strip(), int(baud))


def specs_from_config(cfg: HardwareConfig) -> list[DeviceSpec]:
    """One spec per role that the configuration binds; unbound roles are left out."""
    specs = []
    for role in Role:
        text = getattr(cfg, role.value)
        if text:
            specs.append(parse_rule(role, text))
    return specs


@dataclass(frozen=True)
class Resolution:
    spec: DeviceSpec
    device: str | None  # the path or URL to open, None when absent
    candidates: tuple[str, ...] = ()  # every match, when more than one


def resolve(spec: DeviceSpec, ports: Sequence[PortInfo]) -> Resolution:
    """Which listed device ``spec`` binds to (pure)."""
    if spec.rule.url is not None:
        return Resolution(spec, spec.rule.url)  # URLs are not listed; opening tells
    found = tuple(p.device for p in ports if p.kind == spec.role.kind and spec.rule.matches(p))
    if len(found) == 1:
        return Resolution(spec, found[0])
    return Resolution(spec, None, found)


def describe_absent(resolution: Resolution) -> HardwareError:
    spec = resolution.spec
    if resolution.candidates:
        return DeviceAmbiguous(
            f"{spec.role.value}: {len(resolution.candidates)} devices match {spec.text!r} "
            f"({', '.join(resolution.candidates)}); add serial= or location= to the rule"
        )
    return DeviceAbsent(
        spec.text, f"{spec.role.value}: nothing connected matches {spec.text!r}", HINT_ABSENT
    )
