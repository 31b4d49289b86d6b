"""The device registry: which connected device plays which role, opened and kept healthy.

Configuration binds each :class:`~hardware.devicerules.Role` to a device with a match rule
(``[hardware]`` in the TOML file, see :mod:`hardware.config`); the rules and matching a listing
against them are pure, in :mod:`hardware.devicerules`. :class:`DeviceRegistry` is the shell: it
re-lists every ``poll_interval`` seconds (hot-plug), opens what matched, closes what vanished,
reopens lost devices with capped exponential backoff and jitter (one
:class:`hardware.devicekeeper.DeviceKeeper` per role, the same bookkeeping the front-desk agents
use for their devices), and publishes a :class:`HealthReport` (health a
:class:`bilik.devicehealth.DeviceHealth`) per role to subscribers whenever the health changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bilik.backoff import Backoff
from bilik.devicehealth import DeviceHealth
from hardware import limits
from hardware.devicekeeper import DeviceKeeper
from hardware.devicerules import (
    RULE_FORMS,
    RULE_KEYS,
    DeviceSpec,
    MatchRule,
    Resolution,
    Role,
    describe_absent,
    parse_rule,
    resolve,
    specs_from_config,
)
from hardware.errors import (
    DeviceAbsent,
    DeviceBusy,
    DevicePermissionDenied,
    DeviceRuleError,
    HardwareError,
)
from hardware.hotplug import ListingSource, PortInfo, list_all
from hardware.serialport import classify_open_error, open_port

__all__ = [  # the rules are re-exported: callers name one module for devices
    "RULE_FORMS",
    "RULE_KEYS",
    "DeviceRegistry",
    "DeviceSpec",
    "HealthReport",
    "MatchRule",
    "Resolution",
    "Role",
    "describe_absent",
    "health_of",
    "open_device",
    "parse_rule",
    "resolve",
    "specs_from_config",
]

log = logging.getLogger(__name__)


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
    keeper: DeviceKeeper  # attempts in a row and when the next open is due
    handle: Handle | None = None


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
            s.role: _Slot(
                s,
                HealthReport(s.role, DeviceHealth.ABSENT, s.text, since=now),
                DeviceKeeper(s.role.value, self._backoff, clock=clock),
            )
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
        slot.keeper.failed(str(exc), health=DeviceHealth.REOPENING)
        self._publish(
            slot,
            DeviceHealth.REOPENING,
            detail=str(exc),
            hint="",
            attempts=slot.keeper.attempts,
            retry_at=slot.keeper.retry_at,
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
            err = describe_absent(res)
            health = DeviceHealth.ERROR if res.candidates else DeviceHealth.ABSENT
            hint = getattr(err, "hint", "")
            slot.keeper.gone(str(err), health=health, hint=hint)  # opened at once when back
            self._publish(
                slot,
                health,
                device=None,
                detail=str(err),
                hint=hint,
                attempts=0,
                retry_at=None,
            )
            return
        if slot.handle is not None:
            if slot.report.device == res.device:
                return
            self._close_handle(slot)  # it came back at another path
        if not slot.keeper.due():
            return
        try:
            handle = await asyncio.to_thread(self._opener, slot.spec, res.device)
        except (HardwareError, OSError) as exc:
            hint = getattr(exc, "hint", "")
            slot.keeper.failed(str(exc), health=health_of(exc), hint=hint)
            self._publish(
                slot,
                health_of(exc),
                device=res.device,
                detail=str(exc),
                hint=hint,
                attempts=slot.keeper.attempts,
                retry_at=slot.keeper.retry_at,
            )
            return
        slot.handle = handle
        slot.keeper.ok()
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
