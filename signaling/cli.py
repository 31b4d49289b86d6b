"""``bilik server``: run the branch server, issue device tokens, print the default config."""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from bilik import config as cfg
from signaling import limits, tokens
from signaling.config import ServerConfig
from signaling.errors import StoreError
from signaling.protocol import Role
from signaling.queue.rules import QueueRules

log = logging.getLogger(__name__)


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run the branch server (queue, pairing, relay, records)",
        description="Run the branch server. Without a subcommand it serves devices until Ctrl-C.",
    )
    _add_config_flags(parser)
    parser.set_defaults(func=run)
    inner = parser.add_subparsers(dest="server_command", metavar="SUBCOMMAND")

    tok = inner.add_parser(
        "token",
        help="issue a device credential",
        description="Issue a signed, expiring credential for one device. Prints the token.",
    )
    tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    tok.add_argument("--id", required=True, dest="device_id", help="device id, e.g. booth-01")
    tok.add_argument("--ttl-days", type=float, default=limits.DEFAULT_TOKEN_TTL_S / 86400,
                     help="lifetime in days (default: %(default)g)")
    tok.add_argument("--json", action="store_true", help="print a JSON object instead")
    _add_config_flags(tok)
    tok.set_defaults(func=issue_token)

    conf = inner.add_parser("config", help="print the default server.toml with every setting")
    conf.set_defaults(func=lambda args: print(
        cfg.describe(ServerConfig, "server") + "\n" + cfg.describe(QueueRules, "queue")) or 0)


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="server.toml (section [server])")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default 8765)")
    parser.add_argument("--data-dir", type=Path, help="database and secret (default var/server)")


def load_config(args: argparse.Namespace) -> ServerConfig:
    return cfg.load(
        ServerConfig, "server", path=args.config,
        overrides={"host": args.host, "port": args.port, "data_dir": args.data_dir},
    )


def load_rules(args: argparse.Namespace) -> QueueRules:
    """The ``[queue]`` section of the same file (and ``BILIK_QUEUE_*``)."""
    return cfg.load(QueueRules, "queue", path=args.config)


def _check_data_dir(data_dir: Path) -> None:
    """Fail early, in one line, when the data directory cannot be used."""
    tokens.load_or_create_secret(data_dir)
    probe = data_dir / ".write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StoreError(f"data directory {data_dir} is not writable: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK):
        raise StoreError(f"data directory {data_dir} is not writable")


def issue_token(args: argparse.Namespace) -> int:
    config = load_config(args)
    secret = tokens.load_or_create_secret(config.data_dir)
    try:
        token = tokens.issue(secret, args.device_id, args.role, now=time.time(),
                             ttl_s=args.ttl_days * 86400)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    if args.json:
        print(json.dumps({"id": args.device_id, "role": args.role, "token": token}))
    else:
        print(token)
    return 0


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from signaling.server import make_app

    config = load_config(args)
    rules = load_rules(args)
    _check_data_dir(config.data_dir)
    app = make_app(config, queue_rules=rules)
    log.info("listening", extra={"fields": {"url": f"http://{config.host}:{config.port}"}})
    web.run_app(app, host=config.host, port=config.port, print=None, access_log=None,
                shutdown_timeout=5.0)
    return 0
