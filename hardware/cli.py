"""``bilik hw``: the technicians' diagnostics (registered by :mod:`bilik.cli`).

Subcommands: ``list``, ``probe``, ``status``, ``selftest``, ``watch``, ``emulate``,
``quality``, ``ocr``. Every one takes ``--json`` (one JSON document on stdout, or JSON lines for
the live ones) and ends with one of the exit codes of :mod:`hardware.commands.output`; progress
goes to stderr so that stdout stays machine-readable. This module is the parser; the commands
live in :mod:`hardware.commands`, one module per subject.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bilik import documents
from hardware import limits
from hardware.commands.devices import cmd_list, cmd_probe, cmd_status, cmd_watch
from hardware.commands.emulate import cmd_emulate
from hardware.commands.output import EXIT_CODES_HELP
from hardware.commands.selftest import cmd_selftest, selftest_kinds
from hardware.errors import HardwareError


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
