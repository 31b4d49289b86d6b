"""``bilik hw``: the technicians' diagnostics (registered by :mod:`bilik.cli`).

Subcommands: ``list``, ``probe``, ``status``, ``selftest``, ``watch``, ``emulate``,
``quality``, ``ocr``. Every one takes ``--json`` (one JSON document on stdout, or JSON lines for
the live ones) and ends with one of the exit codes below; progress goes to stderr so
that stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from bilik import documents
from hardware import limits
from hardware.config import HardwareConfig, load_config
from hardware.errors import (
    DeviceAbsent,
    DeviceBusy,
    DevicePermissionDenied,
    DeviceUnavailable,
    HardwareError,
)
from hardware.hotplug import PortInfo, diff_listing, list_all
from hardware.registry import (
    DeviceHealth,
    DeviceRegistry,
    HealthReport,
    Role,
    specs_from_config,
)
from hardware.serialport import open_port

EXIT_OK = 0
EXIT_ERROR = 1  # anything else: bad configuration, an unexpected failure
EXIT_USAGE = 2  # wrong arguments
EXIT_ABSENT = 3  # the device is not there
EXIT_BUSY = 4  # another program holds it
EXIT_PERMISSION = 5  # this user may not open it (dialout group / udev rule)
EXIT_FAULT = 6  # it is there but misbehaves: garbage, no answer, unplugged mid-test
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit codes: 0 ok, 1 error, 2 usage, 3 device absent, 4 device busy, "
    "5 permission denied, 6 device fault (garbage, no answer, unplugged), 130 interrupted"
)

_HEALTH_EXIT = {
    DeviceHealth.OK: EXIT_OK,
    DeviceHealth.ABSENT: EXIT_ABSENT,
    DeviceHealth.BUSY: EXIT_BUSY,
    DeviceHealth.PERMISSION_DENIED: EXIT_PERMISSION,
    DeviceHealth.ERROR: EXIT_FAULT,
    DeviceHealth.REOPENING: EXIT_FAULT,
}


def exit_code_of(exc: BaseException) -> int:
    if isinstance(exc, DevicePermissionDenied):
        return EXIT_PERMISSION
    if isinstance(exc, DeviceBusy):
        return EXIT_BUSY
    if isinstance(exc, DeviceAbsent):
        return EXIT_ABSENT
    if isinstance(exc, DeviceUnavailable):
        return EXIT_ERROR
    if isinstance(exc, HardwareError):
        return EXIT_FAULT
    if isinstance(exc, ValueError):  # bad arguments that reached a parser
        return EXIT_USAGE
    return EXIT_FAULT


def _worst(codes: list[int]) -> int:
    # Faults and permission problems outrank a merely absent device.
    order = [EXIT_OK, EXIT_ABSENT, EXIT_BUSY, EXIT_PERMISSION, EXIT_FAULT, EXIT_ERROR]
    return max(codes, key=order.index, default=EXIT_OK)


class Out:
    """Where a command writes: text for people, or JSON."""

    def __init__(self, as_json: bool, stream: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stream = stream or sys.stdout

    def doc(self, data: Any) -> None:
        self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.stream.flush()

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def progress(self, step: int, total: int, message: str) -> None:
        sys.stderr.write(f"[{step}/{total}] {message}\n")
        sys.stderr.flush()


def _error_doc(exc: BaseException) -> dict[str, Any]:
    return {
        "ok": False,
        "error": type(exc).__name__,
        "message": str(exc),
        "hint": getattr(exc, "hint", ""),
        "exit": exit_code_of(exc),
    }


def _fail(out: Out, exc: BaseException, what: str) -> int:
    if out.as_json:
        out.doc(_error_doc(exc) | {"what": what})
    else:
        sys.stderr.write(f"bilik hw {what}: {exc}\n")
    return exit_code_of(exc)


# --- list ------------------------------------------------------------------


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
            "health": _health_name(exc),
            "message": str(exc),
            "hint": exc.hint,
            "exit": exit_code_of(exc),
        }
    return {
        "device": device,
        "ok": True,
        "health": "ok",
        "message": "opens",
        "hint": "",
        "exit": EXIT_OK,
    }


def _health_name(exc: DeviceUnavailable) -> str:
    if isinstance(exc, DevicePermissionDenied):
        return DeviceHealth.PERMISSION_DENIED.value
    if isinstance(exc, DeviceBusy):
        return DeviceHealth.BUSY.value
    if isinstance(exc, DeviceAbsent):
        return DeviceHealth.ABSENT.value
    return DeviceHealth.ERROR.value


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
    return _worst([r["exit"] for r in results])


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
    specs = specs_from_config(_config(args))
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
    return _worst([_HEALTH_EXIT[r.health] for r in reports.values()])


def cmd_watch(args: argparse.Namespace) -> int:
    out = Out(args.json)
    specs = specs_from_config(_config(args))
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
    with _interruptible():
        asyncio.run(run())
    return EXIT_OK


# --- selftest ------------------------------------------------------------------

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
        cfg = _config(args)
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
        return _fail(out, exc, "selftest")
    doc = {"ok": True, "device": device, "kind": kind} | result
    if out.as_json:
        out.doc(doc)
    else:
        out.line(f"{device} ({kind}): ok")
        for key, value in result.items():
            out.line(f"  {key}: {value}")
    return EXIT_OK


# --- emulate ------------------------------------------------------------------


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, and either ends the command cleanly."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_until_stopped(
    out: Out, started: dict[str, Any], on_stdin: Callable[[str], None] | None
) -> None:
    out.doc({"event": "started"} | started) if out.as_json else out.line(
        f"{started['kind']} emulator on {started['port']} (Ctrl-C to stop)"
    )
    stop = threading.Event()
    with _interruptible():
        if on_stdin is not None:
            for raw in sys.stdin:  # one code per line until end of input
                code = raw.rstrip("\r\n")
                if code:
                    on_stdin(code)
        while not stop.wait(3600):
            pass


def cmd_emulate(args: argparse.Namespace) -> int:
    from hardware.displays.led import LedFraming
    from hardware.displays.pole import PoleCommandSet

    out = Out(args.json)
    cfg = _config(args)
    kind = "pole-cd5220" if args.kind == "pole" else args.kind

    def screen(lines: list[str] | str) -> None:
        rows = [lines] if isinstance(lines, str) else lines
        out.doc({"event": "screen", "lines": rows}) if out.as_json else out.line(
            "|" + "|\n|".join(rows) + "|"
        )

    if kind in ("pole-cd5220", "pole-epson"):
        from hardware.emulators.pole import PoleEmulator

        with PoleEmulator(
            PoleCommandSet(kind), codepage=cfg.display_codepage, on_change=screen
        ) as pole:
            _run_until_stopped(out, {"kind": kind, "port": pole.path}, None)
        return EXIT_OK
    if kind == "led":
        from hardware.emulators.led import LedEmulator

        framing = LedFraming.from_config(cfg)
        with LedEmulator(
            framing, cfg.led_address, codepage=cfg.display_codepage, on_change=screen
        ) as led:
            _run_until_stopped(
                out, {"kind": kind, "port": led.path, "address": cfg.led_address}, None
            )
        return EXIT_OK
    if kind == "scanner":
        from hardware.emulators.scanner import ScannerEmulator

        def scan(code: str) -> None:
            emu.scan(code)
            out.doc({"event": "scanned", "code": code}) if out.as_json else out.line(
                f"scanned {code}"
            )

        with ScannerEmulator() as emu:
            _run_until_stopped(out, {"kind": kind, "port": emu.path}, scan)
        return EXIT_OK
    if kind == "button":
        from hardware.emulators.button import ButtonEmulator

        with ButtonEmulator() as button:

            def press(line: str) -> None:  # any line typed: one press and release
                button.click()
                out.doc({"event": "pressed"}) if out.as_json else out.line("pressed")

            _run_until_stopped(out, {"kind": kind, "port": button.path}, press)
        return EXIT_OK
    if kind == "printer":
        from hardware.emulators.printer import serve_forever

        def ready(emulator: Any) -> None:
            started = {"kind": kind, "port": emulator.address, "out": str(args.out)}
            out.doc({"event": "started"} | started) if out.as_json else out.line(
                f"printer emulator on {emulator.address}, pages in {args.out} (Ctrl-C to stop)"
            )

        with _interruptible():
            serve_forever(args.out, on_ready=ready)
        return EXIT_OK
    if kind == "camera":
        from hardware.emulators.netcamera import NetCameraEmulator

        with NetCameraEmulator(args.images, fps=args.fps) as camera:
            _run_until_stopped(out, {"kind": kind, "port": camera.url}, None)
        return EXIT_OK
    return _fail(out, ValueError(f"unknown emulator kind {args.kind!r}"), "emulate")


# --- quality ------------------------------------------------------------------


def cmd_quality(args: argparse.Namespace) -> int:
    try:
        from hardware.quality.command import run
    except ImportError as exc:
        raise HardwareError(
            f"the document quality check is not available in this build ({exc})"
        ) from exc
    code: int = run(list(args.images), args.json, sys.stdout, args.document)
    return code


def cmd_ocr(args: argparse.Namespace) -> int:
    from hardware.ocr.command import run

    code: int = run(list(args.images), args.json, sys.stdout, args.document)
    return code


# --- parser ------------------------------------------------------------------


def _document_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--document", default=documents.DEFAULT_KIND, choices=list(documents.kinds()),
        metavar="KIND", help=f"kind of document: {', '.join(documents.kinds())}",
    )


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="hardware diagnostics: list, probe, status, selftest, watch, emulate, quality, ocr",
        description="Technicians' diagnostics for booth and branch devices.",
        epilog=EXIT_CODES_HELP,
    )
    commands = parser.add_subparsers(dest="hw_command", metavar="HW_COMMAND", required=True)

    def add(
        cmd: str, func: Callable[[argparse.Namespace], int], help_text: str, *, config: bool = False
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(
            cmd, help=help_text, description=help_text, epilog=EXIT_CODES_HELP
        )
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if config:
            p.add_argument(
                "--config", type=Path, default=None, help="TOML file with a [hardware] section"
            )
        p.set_defaults(func=func)
        return p

    add("list", cmd_list, "list serial ports and cameras with USB ids, serial numbers, locations")

    p = add("probe", cmd_probe, "try to open ports: ok, absent, busy or permission denied")
    p.add_argument("devices", nargs="*", metavar="DEVICE", help="ports/URLs (default: all)")
    p.add_argument("--baud", type=int, default=limits.SERIAL_DEFAULT_BAUD)

    add("status", cmd_status, "health of each configured role's device", config=True)

    p = add("watch", cmd_watch, "live device health and hot-plug events", config=True)
    p.add_argument(
        "--interval",
        type=float,
        default=limits.PORT_POLL_INTERVAL_S,
        help="seconds between port listings",
    )
    p.add_argument("--count", type=int, default=None, help="stop after this many events")

    p = add(
        "selftest",
        cmd_selftest,
        "test one device: display pattern, scanner read, "
        "printer test page, camera frame with focus score, hand button press",
        config=True,
    )
    p.add_argument(
        "device",
        metavar="DEVICE",
        help="a role name (queue_display, reader, ...) or a port path / pyserial URL with --kind",
    )
    p.add_argument(
        "--kind", choices=selftest_kinds()
    )
    p.add_argument("--baud", type=int, default=limits.SERIAL_DEFAULT_BAUD)
    p.add_argument(
        "--timeout",
        type=float,
        default=limits.SELFTEST_SCAN_TIMEOUT_S,
        help="seconds to wait for a scan or a camera frame",
    )
    p.add_argument(
        "--hold",
        type=float,
        default=limits.SELFTEST_PATTERN_HOLD_S,
        help="seconds each display pattern stays up",
    )

    p = add("emulate", cmd_emulate, "run a device emulator and print its port", config=True)
    p.add_argument(
        "kind",
        choices=("pole", "pole-cd5220", "pole-epson", "led", "scanner", "printer", "camera",
                 "button"),
    )
    p.add_argument(
        "--images", nargs="*", default=[], metavar="IMAGE",
        help="camera: images or directories to replay (default: the moving test pattern)",
    )
    p.add_argument("--fps", type=float, default=15.0, help="camera: frames a second")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("printed"),
        help="where the printer emulator writes its pages (PNG)",
    )

    p = add("quality", cmd_quality, "check document images with the booth's quality gate")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    _document_argument(p)
    p = add("ocr", cmd_ocr, "read the NIK and names from document images (Tesseract)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    _document_argument(p)
