"""``bilik hub``: run the officer hub (registered by :mod:`bilik.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from bilik import config as cfg
from bilik import cvthreads, gcpause
from bilik.agent.serve import serve
from bilik.agent.settings import add_connection_flags, connection_overrides
from bilik.agent.token import device_credential
from officer import limits
from officer.config import HubConfig
from signaling import enrolclient
from signaling.client import NotConnected

log = logging.getLogger(__name__)


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run the officer hub (up to six booth calls)",
        description=(
            "Run the officer hub: connect to the branch server, take up to six booth calls, "
            "decode every booth's video and report its frame rate and latency in the log, at "
            "/metrics and at /healthz (default http://127.0.0.1:8780). Runs until Ctrl-C or "
            "SIGTERM. Settings come from --config (section [hub]), BILIK_HUB_* variables "
            "and flags."
        ),
    )
    parser.add_argument("--config", type=Path, help="hub.toml (section [hub])")
    add_connection_flags(parser)
    parser.add_argument("--max-booths", type=int, help="booths served at once (1-6, default 6)")
    parser.add_argument(
        "--media-offline-s", type=float, help="seconds without video before a slot is freed"
    )
    parser.add_argument("--metrics-host", help="address of /metrics and /healthz")
    parser.add_argument("--metrics-port", type=int, help="port of /metrics and /healthz")
    parser.add_argument("--ice-addresses", help="interfaces, addresses or networks ICE may "
                        "use, comma-separated (e.g. eth0,127.0.0.1)")
    parser.add_argument("--synthetic-officer", action="store_true", default=None,
                        help="with no console media, send a synthetic officer (demo, benchmarks)")
    parser.add_argument("--inspect-video", action="store_true", default=None,
                        help="decode every booth's video to measure its latency (benchmarks)")
    parser.set_defaults(func=run)
    inner = parser.add_subparsers(dest="hub_command", metavar="SUBCOMMAND")
    enrolclient.add_command(inner, "hub", "hub", load_config)
    conf = inner.add_parser("config", help="print the default hub.toml with every setting")
    conf.set_defaults(func=lambda args: print(cfg.describe(HubConfig, "hub")) or 0)


def load_config(args: argparse.Namespace) -> HubConfig:
    return cfg.load(
        HubConfig,
        "hub",
        path=args.config,
        overrides={
            **connection_overrides(args),
            "max_booths": args.max_booths,
            "media_offline_s": args.media_offline_s,
            "metrics_host": args.metrics_host,
            "metrics_port": args.metrics_port,
            "ice_addresses": args.ice_addresses,
            "synthetic_officer": args.synthetic_officer,
            "inspect_video": args.inspect_video,
        },
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    token = device_credential(config, config.token, config.token_file, config.server, "hub")
    asyncio.run(_serve(config, token))
    return 0


async def _serve(config: HubConfig, token: str) -> None:
    from officer.hub import Hub  # aiortc is imported only when the hub runs

    cvthreads.single_threaded()
    hub = Hub(config, token)
    await serve(
        hub, "officer hub", connect_timeout=limits.CONNECT_TIMEOUT_S, still_trying=NotConnected,
        # No full-collection pauses in the middle of six video streams.
        started=gcpause.settle,
        fields=lambda: {"metrics_port": hub.metrics_port},
    )
