"""The device registry: which connected device plays which role, opened and kept healthy.

Configuration binds each :class:`Role` to a device with a match rule (``[hardware]`` in the
TOML file, see :mod:`hardware.config`). A rule is comma-separated ``key=value`` terms that
must all hold, or a bare path or URL::

    /dev/ttyUSB0                       the port at this path (by-id symlinks work too)
    socket://10.0.0.7:4001             a pyserial URL (network serial server, loop://...)
    usb=0416:5011                      USB vendor:product id (hex)
    usb=0416:5011,serial=A1B2C3        ...and the USB serial number
    location=1-1.4                     the USB port it is plugged into (same box every time)
    serial=A1B2C3,baud=19200           any of them plus the line speed

Matching a listing against the rules is pure (:func:`resolve`). :class:`DeviceRegistry` is
the shell: it re-lists every ``poll_interval`` seconds (hot-plug), opens what matched,
closes what vanished, reopens lost devices with capped exponential backoff and jitter, and
publishes a :class:`HealthReport` per role to subscribers whenever the health changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bilik.backoff import Backoff
from bilik.devicehealth import DeviceHealth
from hardware import limits
from hardware.config import HardwareConfig
from hardware.errors import (
    DeviceAbsent,
    DeviceAmbiguous,
    DeviceBusy,
    DevicePermissionDenied,
    DeviceRuleError,
    HardwareError,
)
from hardware.hotplug import ListingSource, PortInfo, list_all
from hardware.serialport import HINT_ABSENT, classify_open_error, open_port

log = logging.getLogger(__name__)

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


# --- the shell ---------------------------------------------------------------------------------


class Handle(Protocol):
    def close(self) -> None: ...


Opener = Callable[[DeviceSpec, str], Handle]


class VideoPresence:
    """Handle for a camera role: the registry checks the node opens; the camera module
    (hardware.camera) does the capturing."""

    def __init__(self, path: str) -> None:
        self.path = path

    def close(self) -> None:
        pass


def open_device(spec: DeviceSpec, device: str) -> Handle:
    """Default opener: serial roles get a pyserial port, camera roles a presence check."""
    if spec.role.kind == "video":
        try:
            fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            raise classify_open_error(device, exc) from exc
        os.close(fd)
        return VideoPresence(device)
    return open_port(device, baudrate=spec.baudrate)


_HEALTH_OF = {
    DeviceAbsent: DeviceHealth.ABSENT,
    DeviceBusy: DeviceHealth.BUSY,
    DevicePermissionDenied: DeviceHealth.PERMISSION_DENIED,
}


def health_of(exc: BaseException) -> DeviceHealth:
    for cls, health in _HEALTH_OF.items():
        if isinstance(exc, cls):
            return health
    return DeviceHealth.ERROR


@dataclass(frozen=True)
class HealthReport:
    role: Role
    health: DeviceHealth
    rule: str
    device: str | None = None
    detail: str = ""
    hint: str = ""
    since: float = 0.0  # registry clock time of the last change
    attempts: int = 0  # failed opens in a row
    retry_at: float | None = None  # registry clock time of the next open attempt

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "health": self.health.value,
            "rule": self.rule,
            "device": self.device,
            "detail": self.detail,
            "hint": self.hint,
            "attempts": self.attempts,
        }


@dataclass
class _Slot:
    spec: DeviceSpec
    report: HealthReport
    handle: Handle | None = None
    attempts: int = 0
    retry_at: float = 0.0
    lost: list[str] = field(default_factory=list)


class DeviceRegistry:
    """Keeps each configured role bound to an open, healthy device.

    Call :meth:`poll_once` yourself (tests, ``bilik hw status``) or :meth:`start` the
    polling loop. Users take a device with :meth:`get` and, when it fails under them,
    hand it back with :meth:`report_failure`; the registry then reopens it with backoff.
    """

    def __init__(
        self,
        specs: Sequence[DeviceSpec],
        *,
        listing: ListingSource = list_all,
        opener: Opener = open_device,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        poll_interval: float = limits.PORT_POLL_INTERVAL_S,
        backoff: Backoff | None = None,
    ) -> None:
        roles = [s.role for s in specs]
        if len(set(roles)) != len(roles):
            raise DeviceRuleError("a role is bound twice: " + ", ".join(r.value for r in roles))
        self._listing = listing
        self._opener = opener
        self._clock = clock
        self._poll_interval = poll_interval
        self._backoff = backoff or Backoff(
            limits.REOPEN_BACKOFF_BASE_S, limits.REOPEN_BACKOFF_CAP_S,
            factor=limits.REOPEN_BACKOFF_FACTOR, jitter=limits.REOPEN_JITTER, rand=rng)
        now = clock()
        self._slots = {
            s.role: _Slot(s, HealthReport(s.role, DeviceHealth.ABSENT, s.text, since=now))
            for s in specs
        }
        self._subscribers: list[Callable[[HealthReport], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.ports: list[PortInfo] = []

    # --- health -----------------------------------------------------------------------------
    def snapshot(self) -> dict[Role, HealthReport]:
        return {role: slot.report for role, slot in self._slots.items()}

    def subscribe(self, callback: Callable[[HealthReport], None]) -> Callable[[], None]:
        """Call ``callback(report)`` on every health change; returns the unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _publish(self, slot: _Slot, health: DeviceHealth, **changes: Any) -> None:
        old = slot.report
        new = replace(old, health=health, **changes)
        if (new.health, new.device, new.detail) != (old.health, old.device, old.detail):
            new = replace(new, since=self._clock())
            log.info(
                "device %s: %s",
                slot.spec.role.value,
                health.value,
                extra={"fields": {"device": new.device, "detail": new.detail}},
            )
            slot.report = new
            for callback in list(self._subscribers):
                try:
                    callback(new)
                except Exception:
                    log.exception("health subscriber failed")
        else:
            slot.report = new

    # --- use --------------------------------------------------------------------------------
    def get(self, role: Role) -> Any:
        """The open handle for ``role`` (a pyserial port for serial roles), or the error
        saying why there is none."""
        slot = self._slots.get(role)
        if slot is None:
            raise DeviceAbsent(
                role.value,
                f"no device is configured for {role.value}",
                "bind one in the [hardware] section of the configuration",
            )
        if slot.handle is None:
            report = slot.report
            cls = {
                DeviceHealth.BUSY: DeviceBusy,
                DeviceHealth.PERMISSION_DENIED: DevicePermissionDenied,
            }.get(report.health, DeviceAbsent)
            raise cls(
                report.device or report.rule,
                f"{role.value} is {report.health.value}: {report.detail}",
                report.hint,
            )
        return slot.handle

    def report_failure(self, role: Role, exc: BaseException) -> None:
        """A user of ``role``'s device saw it fail (unplugged mid-job, I/O error): close it
        and reopen it after a backoff delay."""
        slot = self._slots[role]
        self._close_handle(slot)
        slot.attempts += 1
        slot.retry_at = self._clock() + self._backoff.delay(slot.attempts - 1)
        self._publish(
            slot,
            DeviceHealth.REOPENING,
            detail=str(exc),
            hint="",
            attempts=slot.attempts,
            retry_at=slot.retry_at,
        )
        self._wake.set()

    # --- polling ----------------------------------------------------------------------------
    async def poll_once(self) -> dict[Role, HealthReport]:
        """List devices, then open, keep or close each role's device. Returns the health."""
        async with self._lock:
            try:
                self.ports = await asyncio.to_thread(self._list)
            except Exception as exc:  # a broken listing must not stop the registry
                log.warning("port listing failed: %s", exc)
                return self.snapshot()
            for slot in self._slots.values():
                await self._update(slot, resolve(slot.spec, self.ports))
            return self.snapshot()

    def _list(self) -> list[PortInfo]:
        """The listing, plus configured port paths it does not show but that exist
        (pseudo-terminals, ports of drivers pyserial does not list)."""
        ports = list(self._listing())
        listed = {p.device for p in ports}
        for slot in self._slots.values():
            path = slot.spec.rule.port
            if path is not None and path not in listed and os.path.exists(path):
                ports.append(PortInfo(path, kind=slot.spec.role.kind))
        return ports

    async def _update(self, slot: _Slot, res: Resolution) -> None:
        if res.device is None:
            self._close_handle(slot)
            slot.attempts, slot.retry_at = 0, 0.0  # open at once when it comes back
            err = describe_absent(res)
            health = DeviceHealth.ERROR if res.candidates else DeviceHealth.ABSENT
            self._publish(
                slot,
                health,
                device=None,
                detail=str(err),
                hint=getattr(err, "hint", ""),
                attempts=0,
                retry_at=None,
            )
            return
        if slot.handle is not None:
            if slot.report.device == res.device:
                return
            self._close_handle(slot)  # it came back at another path
        now = self._clock()
        if now < slot.retry_at:
            return
        try:
            handle = await asyncio.to_thread(self._opener, slot.spec, res.device)
        except (HardwareError, OSError) as exc:
            slot.attempts += 1
            slot.retry_at = now + self._backoff.delay(slot.attempts - 1)
            self._publish(
                slot,
                health_of(exc),
                device=res.device,
                detail=str(exc),
                hint=getattr(exc, "hint", ""),
                attempts=slot.attempts,
                retry_at=slot.retry_at,
            )
            return
        slot.handle, slot.attempts, slot.retry_at = handle, 0, 0.0
        self._publish(
            slot, DeviceHealth.OK, device=res.device, detail="", hint="", attempts=0, retry_at=None
        )

    def _close_handle(self, slot: _Slot) -> None:
        if slot.handle is not None:
            handle, slot.handle = slot.handle, None
            with contextlib.suppress(Exception):
                handle.close()

    async def _run(self) -> None:
        while True:
            await self.poll_once()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="bilik-device-registry")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._lock:
            for slot in self._slots.values():
                self._close_handle(slot)

    async def __aenter__(self) -> DeviceRegistry:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
