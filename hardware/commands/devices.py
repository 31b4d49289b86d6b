"""``bilik hw list``, ``probe``, ``status`` and ``watch``: which devices are there, and how
each configured role's device is.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bilik.devicehealth import DeviceHealth
from hardware.commands.output import EXIT_OK, HEALTH_EXIT, Out, exit_code_of, interruptible, worst
from hardware.config import HardwareConfig, load_config
from hardware.errors import DeviceUnavailable
from hardware.hotplug import PortInfo, diff_listing, list_all
from hardware.registry import DeviceRegistry, HealthReport, Role, health_of, specs_from_config
from hardware.serialport import open_port


def config_of(args: argparse.Namespace) -> HardwareConfig:
    return load_config(args.config)


def _usb(p: PortInfo) -> str:
    return f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else "-"


def cmd_list(args: argparse.Namespace) -> int:
    out = Out(args.json)
    ports = list_all()
    if out.as_json:
        out.doc({"devices": [p.as_json() for p in ports]})
        return EXIT_OK
    if not ports:
        out.line("no serial ports or cameras found (is the device plugged in? see `dmesg -w`)")
        return EXIT_OK
    out.line(f"{'DEVICE':<40} {'KIND':<6} {'USB':<9} {'SERIAL':<16} {'LOCATION':<10} DESCRIPTION")
    for p in ports:
        device = p.device + (" (link)" if p.link else "")
        out.line(
            f"{device:<40} {p.kind:<6} {_usb(p):<9} {p.serial_number or '-':<16} "
            f"{p.location or '-':<10} {p.description}"
        )
    return EXIT_OK


# --- probe ------------------------------------------------------------------


def _probe_one(device: str, baudrate: int) -> dict[str, Any]:
    try:
        open_port(device, baudrate=baudrate).close()
    except DeviceUnavailable as exc:
        return {
            "device": device,
            "ok": False,
            "health": health_of(exc),
            "message": str(exc),
            "hint": exc.hint,
            "exit": exit_code_of(exc),
        }
    return {
        "device": device,
        "ok": True,
        "health": DeviceHealth.OK,
        "message": "opens",
        "hint": "",
        "exit": EXIT_OK,
    }


def cmd_probe(args: argparse.Namespace) -> int:
    out = Out(args.json)
    devices = args.devices or [p.device for p in list_all() if p.kind == "serial" and not p.link]
    results = [_probe_one(d, args.baud) for d in devices]
    if out.as_json:
        out.doc({"ports": results})
    elif not results:
        out.line("no serial ports to probe")
    for r in results if not out.as_json else []:
        out.line(f"{r['device']}: {r['health']}: {r['message']}")
    return worst([r["exit"] for r in results])


# --- status and watch -----------------------------------------------------------------------


def _config(args: argparse.Namespace) -> HardwareConfig:
    return load_config(args.config)


def _report_line(r: HealthReport) -> str:
    where = r.device or r.rule
    text = f"{r.role.value:<16} {r.health.value:<18} {where}"
    if r.health is not DeviceHealth.OK and r.detail:
        text += f"\n{'':<16} {r.detail}"
    return text


def cmd_status(args: argparse.Namespace) -> int:
    out = Out(args.json)
    specs = specs_from_config(config_of(args))
    if not specs:
        message = "no devices configured: bind roles in the [hardware] section (docs/hardware.md)"
        out.doc({"roles": [], "message": message}) if out.as_json else out.line(message)
        return EXIT_OK

    async def run() -> dict[Role, HealthReport]:
        registry = DeviceRegistry(specs)
        try:
            return await registry.poll_once()
        finally:
            await registry.close()

    reports = asyncio.run(run())
    if out.as_json:
        out.doc({"roles": [r.as_json() for r in reports.values()]})
    else:
        for r in reports.values():
            out.line(_report_line(r))
    return worst([HEALTH_EXIT[r.health] for r in reports.values()])


def cmd_watch(args: argparse.Namespace) -> int:
    out = Out(args.json)
    specs = specs_from_config(config_of(args))
    events = 0

    def emit(doc: dict[str, Any], line: str) -> None:
        nonlocal events
        events += 1
        out.doc(doc) if out.as_json else out.line(line)

    async def run() -> None:
        registry = DeviceRegistry(specs, poll_interval=args.interval)
        registry.subscribe(lambda r: emit({"event": "health"} | r.as_json(), _report_line(r)))
        before: list[PortInfo] | None = None
        try:
            while args.count is None or events < args.count:
                await registry.poll_once()
                if before is not None:
                    change = diff_listing(before, registry.ports)
                    for p in change.added:
                        emit({"event": "plugged"} | p.as_json(), f"plugged   {p.device}")
                    for p in change.removed:
                        emit({"event": "unplugged"} | p.as_json(), f"unplugged {p.device}")
                before = registry.ports
                if args.count is not None and events >= args.count:
                    break
                await asyncio.sleep(args.interval)
        finally:
            await registry.close()

    if not out.as_json:
        sys.stderr.write("watching devices; Ctrl-C to stop\n")
    with interruptible():
        asyncio.run(run())
    return EXIT_OK
