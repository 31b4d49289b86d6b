"""``bilik kiosk``: run the ticket kiosk agent (registered by :mod:`bilik.cli`).

Its ways in beside the touch page: console commands, one a line, on stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bilik import config as cfg
from bilik import themes
from bilik.agent.serve import serve
from bilik.agent.settings import add_connection_flags, connection_overrides
from bilik.agent.token import device_credential
from frontdesk import limits, loopback
from frontdesk.kiosk import SECTION, Kiosk, KioskConfig
from frontdesk.kiosk_commands import (
    CheckInCode,
    CommandError,
    Help,
    Reprint,
    TakeTicket,
    parse_command,
    usage,
)
from frontdesk.kiosk_result import KioskResult
from signaling import enrolclient
from signaling.client import NotConnected

log = logging.getLogger(__name__)


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run the ticket kiosk (take tickets, check in bookings, print queue tickets)",
        description=(
            "Run the ticket kiosk agent: connect to the branch server as a kiosk, take "
            "tickets and booking check-ins, print queue tickets. Input: lines on stdin "
            "('jht', 'jht elderly', 'code BK-1001', 'reprint', 'help'), codes from a serial "
            "scanner (--scanner), and a local HTTP endpoint (POST /ticket {\"service\": "
            "\"jht\"}, POST /check-in {\"code\": \"BK-1001\"}, GET /status) and the touch "
            "screen page (GET /) on 127.0.0.1:--control-port. Runs until Ctrl-C or SIGTERM. "
            "Settings come from --config (section [kiosk]), BILIK_KIOSK_* variables and flags."
        ),
    )
    parser.add_argument("--config", type=Path, help="kiosk.toml (section [kiosk])")
    add_connection_flags(parser)
    parser.add_argument("--printer", help="ticket printer address, e.g. serial:/dev/ttyUSB0")
    parser.add_argument("--scanner", help="serial scanner for booking codes, e.g. /dev/ttyACM0")
    parser.add_argument("--control-port", type=int,
                        help="local control endpoint port (0: any free port; default 8791)")
    parser.add_argument("--no-control", action="store_true", help="no local control endpoint")
    parser.add_argument("--no-stdin", action="store_true", help="do not read commands on stdin")
    parser.add_argument("--theme", choices=[t.value for t in themes.ThemeName],
                        help="colours of the touch screen page")
    parser.add_argument("--text-size", choices=[t.value for t in themes.TextSize],
                        help="text size of the touch screen page")
    parser.set_defaults(func=run)
    inner = parser.add_subparsers(dest="kiosk_command", metavar="SUBCOMMAND")
    enrolclient.add_command(inner, "kiosk", SECTION, load_config)
    conf = inner.add_parser("config", help="print the default kiosk.toml with every setting")
    conf.set_defaults(func=lambda args: print(cfg.describe(KioskConfig, SECTION)) or 0)


def load_config(args: argparse.Namespace) -> KioskConfig:
    config = cfg.load(KioskConfig, SECTION, path=args.config, overrides={
        **connection_overrides(args), "printer": args.printer, "scanner": args.scanner,
        "control_port": args.control_port, "theme": args.theme, "text_size": args.text_size,
    })
    if args.no_control:
        config = dataclasses.replace(config, control_port=None)
    loopback.require_loopback("kiosk.control_host", config.control_host)
    return config


def _print_result(result: KioskResult) -> None:
    lines = [f"[{result.outcome.value}] {result.message.both()}"]
    if result.wait is not None and result.issued:
        lines.append(f"  {result.wait.both()}")
    print("\n".join(lines), flush=True)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    token = device_credential(config, config.token, config.token_file, config.server, SECTION)
    return asyncio.run(_serve(config, token, stdin=not args.no_stdin))


async def _serve(config: KioskConfig, token: str, *, stdin: bool) -> int:
    kiosk = Kiosk(config, token, on_show=_print_result)

    async def alongside() -> None:
        if kiosk.control_url:
            print(f"control endpoint: {kiosk.control_url}", flush=True)
        if stdin:
            await _read_stdin(kiosk)

    await serve(kiosk, "kiosk", connect_timeout=limits.CONNECT_TIMEOUT_S,
                still_trying=NotConnected, fields=lambda: {"control": kiosk.control_url},
                alongside=alongside)
    return 0


async def _read_stdin(kiosk: Kiosk) -> None:
    """Console commands, one a line, until end of input (then the kiosk keeps running)."""
    services = kiosk.config.services
    stream = asyncio.StreamReader()
    fd = sys.stdin.fileno()
    try:
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream), sys.stdin)
    except (ValueError, OSError) as exc:
        log.info("not reading commands on stdin: %s", exc)
        return
    try:
        print(usage(services), flush=True)
        while line := await stream.readline():
            try:
                command = parse_command(line.decode("utf-8", "replace"), services)
            except CommandError as exc:
                print(f"? {exc}", flush=True)
                continue
            if isinstance(command, TakeTicket):
                await kiosk.take_ticket(command.service, command.priority)
            elif isinstance(command, CheckInCode):
                await kiosk.check_in(command.code)
            elif isinstance(command, Reprint):
                if await kiosk.reprint() is None:
                    print("nothing to reprint", flush=True)
            elif isinstance(command, Help):
                print(usage(services), flush=True)
    finally:
        transport.close()
        with contextlib.suppress(OSError):
            os.set_blocking(fd, True)  # leave the terminal as we found it
