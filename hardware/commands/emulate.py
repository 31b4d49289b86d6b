"""``bilik hw emulate``: run one device emulator until stopped and say where it is."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import Any

from hardware.commands.devices import config_of
from hardware.commands.output import EXIT_OK, Out, fail, interruptible


def _run_until_stopped(
    out: Out, started: dict[str, Any], on_stdin: Callable[[str], None] | None
) -> None:
    out.doc({"event": "started"} | started) if out.as_json else out.line(
        f"{started['kind']} emulator on {started['port']} (Ctrl-C to stop)"
    )
    stop = threading.Event()
    with interruptible():
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
    cfg = config_of(args)
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

        with interruptible():
            serve_forever(args.out, on_ready=ready)
        return EXIT_OK
    if kind == "camera":
        from hardware.emulators.netcamera import NetCameraEmulator

        with NetCameraEmulator(args.images, fps=args.fps) as camera:
            _run_until_stopped(out, {"kind": kind, "port": camera.url}, None)
        return EXIT_OK
    return fail(out, ValueError(f"unknown emulator kind {args.kind!r}"), "emulate")
