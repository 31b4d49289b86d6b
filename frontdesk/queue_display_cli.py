"""``bilik display``: run the queue display agent (registered by :mod:`bilik.cli`)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bilik import config as cfg
from bilik.agent.serve import serve
from bilik.agent.settings import add_connection_flags, connection_overrides
from bilik.agent.token import device_credential
from frontdesk import limits
from frontdesk.queue_display import POLE_KINDS, SECTION, DisplayAgent, DisplayConfig
from hardware.config import HardwareConfig
from hardware.config import load_config as load_hardware
from signaling import enrolclient
from signaling.client import NotConnected


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run the queue display (pole, LED and/or TV page showing the calls)",
        description=(
            "Run the queue display agent: connect to the branch server as a display and "
            "show each call ('A001 ke Bilik 1 / A001 to Booth 1') on a 2x20 pole display "
            "(--pole), an RS-485 LED display (--led; framing from [hardware] in --config) "
            "and/or the TV page served on --tv-host:--tv-port (default 127.0.0.1:8790). "
            "Runs until Ctrl-C or SIGTERM. Settings come from --config (section [display]), "
            "BILIK_DISPLAY_* variables and flags."
        ),
    )
    parser.add_argument("--config", type=Path,
                        help="display.toml (section [display]; LED framing in [hardware])")
    add_connection_flags(parser)
    parser.add_argument("--pole", help="pole display serial port, e.g. /dev/ttyUSB0")
    parser.add_argument("--pole-kind", choices=POLE_KINDS, help="pole display command set")
    parser.add_argument("--led", help="RS-485 LED display serial port")
    parser.add_argument("--tv-host", help="address to serve the TV page on")
    parser.add_argument("--tv-port", type=int, help="port to serve the TV page on (0: any)")
    parser.add_argument("--no-tv", action="store_true", help="do not serve the TV page")
    parser.add_argument("--no-speak", action="store_true",
                        help="do not speak the calls aloud on the TV page")
    parser.add_argument("--volume", type=float, help="loudness of the spoken calls, 0..1")
    parser.set_defaults(func=run)
    inner = parser.add_subparsers(dest="display_command", metavar="SUBCOMMAND")
    enrolclient.add_command(inner, "display", SECTION, load_config)
    conf = inner.add_parser("config", help="print the default display.toml with every setting")
    conf.set_defaults(func=lambda args: print(cfg.describe(DisplayConfig, SECTION)) or 0)


def load_config(args: argparse.Namespace) -> DisplayConfig:
    return cfg.load(DisplayConfig, SECTION, path=args.config, overrides={
        **connection_overrides(args), "pole": args.pole, "pole_kind": args.pole_kind,
        "led": args.led,
        "tv_host": args.tv_host, "tv_port": args.tv_port,
        "tv": False if args.no_tv else None,
        "speak": False if args.no_speak else None, "volume": args.volume,
    })


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    hardware = load_hardware(args.config)
    token = device_credential(config, config.token, config.token_file, config.server, SECTION)
    return asyncio.run(_serve(config, token, hardware))


async def _serve(config: DisplayConfig, token: str, hardware: HardwareConfig) -> int:
    agent = DisplayAgent(config, token, hardware=hardware)

    def started() -> None:
        if agent.tv_url:
            print(f"TV page: {agent.tv_url}", flush=True)

    await serve(agent, "display", connect_timeout=limits.CONNECT_TIMEOUT_S,
                still_trying=NotConnected, started=started)
    return 0

