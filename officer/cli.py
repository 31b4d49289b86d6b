"""``bilik hub``: run the officer hub (registered by :mod:`bilik.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from bilik import config as cfg
from bilik import cvthreads, gcpause, tls
from officer import limits
from officer.config import HubConfig
from signaling import enrolclient
from signaling.errors import NotConnected
from signaling.tokens import read_token

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
    parser.add_argument("--server", help="branch server WebSocket URL, e.g. ws://10.0.0.2:8765/ws")
    parser.add_argument("--token", help="device token (prefer --token-file)")
    parser.add_argument("--token-file", type=Path, help="file holding the device token")
    parser.add_argument("--id", help="expected device id (checked against the token)")
    tls.add_flags(parser)
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
            "server": args.server,
            "token": args.token,
            "token_file": args.token_file,
            "id": args.id,
            "max_booths": args.max_booths,
            "media_offline_s": args.media_offline_s,
            "metrics_host": args.metrics_host,
            "metrics_port": args.metrics_port,
            "ice_addresses": args.ice_addresses,
            "synthetic_officer": args.synthetic_officer,
            "inspect_video": args.inspect_video,
            **tls.flag_overrides(args),
        },
    )




def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    token = "" if tls.has_certificate(config) else read_token(
        config.token, config.token_file, "hub")
    tls.check_url(config.server, config, "hub")
    asyncio.run(_serve(config, token))
    return 0


async def _serve(config: HubConfig, token: str) -> None:
    from officer.hub import Hub  # aiortc is imported only when the hub runs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    cvthreads.single_threaded()
    hub = Hub(config, token)
    await hub.start()
    gcpause.settle()  # no full-collection pauses in the middle of six video streams
    try:
        try:
            device = await hub.wait_connected(limits.CONNECT_TIMEOUT_S)
            log.info(
                "officer hub running",
                extra={"fields": {"device": device, "metrics_port": hub.metrics_port}},
            )
        except NotConnected as exc:
            log.warning("%s; still trying", exc)
        await stop.wait()
    finally:
        await hub.stop()
