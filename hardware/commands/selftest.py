"""``bilik hw selftest``: test one device (a role from the configuration, or a port with
``--kind``) and say what was seen.
"""

from __future__ import annotations

import argparse
import asyncio

from hardware.commands.devices import config_of
from hardware.commands.output import EXIT_OK, Out, fail
from hardware.config import HardwareConfig
from hardware.errors import DeviceAbsent, HardwareError
from hardware.registry import DeviceRegistry, HealthReport, Role, specs_from_config

_ROLE_KIND = {
    Role.READER: "scanner",
    Role.RECEIPT_PRINTER: "printer",
    Role.TICKET_PRINTER: "printer",
    Role.CAMERA: "camera",
    Role.DOCUMENT_CAMERA: "camera",
    Role.HAND_BUTTON: "button",
}


def _resolve_target(args: argparse.Namespace, cfg: HardwareConfig) -> tuple[str, str, int]:
    """(device, kind, baud) for a role name or a path/URL given on the command line."""
    roles = {r.value: r for r in Role}
    if args.device in roles:
        role = roles[args.device]
        spec = next((s for s in specs_from_config(cfg) if s.role is role), None)
        if spec is None:
            raise DeviceAbsent(
                role.value,
                f"no device is configured for {role.value}",
                "bind one in the [hardware] section of the configuration",
            )
        registry = DeviceRegistry([spec], opener=lambda spec, device: _NoHandle())

        async def find() -> HealthReport:
            try:
                return (await registry.poll_once())[role]
            finally:
                await registry.close()

        report = asyncio.run(find())
        if report.device is None:
            raise DeviceAbsent(spec.text, report.detail, report.hint)
        kind = args.kind or _ROLE_KIND.get(role, cfg.queue_display_kind)
        return report.device, kind, spec.baudrate
    if args.kind is None:
        raise ValueError(
            f"--kind is needed for {args.device!r}: one of {', '.join(selftest_kinds())} "
            "(or give a role name from the configuration)"
        )
    return args.device, args.kind, args.baud


def selftest_kinds() -> tuple[str, ...]:
    from hardware.selftest import KINDS

    return KINDS


class _NoHandle:
    def close(self) -> None:
        pass


def cmd_selftest(args: argparse.Namespace) -> int:
    from hardware import selftest
    from hardware.displays.pole import PoleCommandSet

    out = Out(args.json)
    try:
        cfg = config_of(args)
        device, kind, baud = _resolve_target(args, cfg)
        if kind in ("pole-cd5220", "pole-epson"):
            result = selftest.pole(
                device, PoleCommandSet(kind), cfg, out.progress, hold=args.hold, baudrate=baud
            )
        elif kind == "led":
            result = selftest.led(device, cfg, out.progress, hold=args.hold, baudrate=baud)
        elif kind == "scanner":
            result = selftest.scanner(
                device, cfg, out.progress, timeout=args.timeout, baudrate=baud
            )
        elif kind == "printer":
            result = selftest.printer(device, out.progress, baudrate=baud)
        elif kind == "camera":
            result = selftest.camera(device, out.progress, timeout=args.timeout)
        elif kind == "button":
            result = selftest.button(device, out.progress, timeout=args.timeout, baudrate=baud)
        else:  # pragma: no cover - argparse choices
            raise ValueError(f"unknown kind {kind!r}")
    except (HardwareError, ValueError) as exc:
        return fail(out, exc, "selftest")
    doc = {"ok": True, "device": device, "kind": kind} | result
    if out.as_json:
        out.doc(doc)
    else:
        out.line(f"{device} ({kind}): ok")
        for key, value in result.items():
            out.line(f"  {key}: {value}")
    return EXIT_OK
