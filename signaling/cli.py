"""``bilik server``: run the branch server, issue device tokens, print the default config."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import ssl
import time
from pathlib import Path
from typing import Any

from bilik import config as cfg
from bilik import gcpause
from signaling import limits, tlscli, tokens
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
    tok.add_argument("--ttl-days", type=_ttl_days, default=limits.DEFAULT_TOKEN_TTL_S / 86400,
                     help="lifetime in days, at least one minute and at most ten years "
                     "(default: %(default)g)")
    tok.add_argument("--json", action="store_true", help="print a JSON object instead")
    tok.add_argument("--by", help="your name, for the audit log (default: your login)")
    _add_config_flags(tok, inner=True)
    tok.set_defaults(func=issue_token)

    from signaling import officercli

    officercli.register(inner, _add_config_flags)

    tlscli.register(inner, _add_config_flags, load_config)

    conf = inner.add_parser("config", help="print the default server.toml with every setting")
    conf.set_defaults(func=lambda args: print(
        cfg.describe(ServerConfig, "server") + "\n" + cfg.describe(QueueRules, "queue")) or 0)

    from signaling import managercli

    managercli.register(inner, _add_config_flags, load_config)


def _ttl_days(text: str) -> float:
    """``--ttl-days``: a finite number of days within the token limits, else a usage error."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    low, high = limits.MIN_TOKEN_TTL_S / 86400, limits.MAX_TOKEN_TTL_S / 86400
    if not math.isfinite(days) or not low <= days <= high:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a token lives at least one minute ({low:.6f} days) and at most "
            f"ten years ({high:g} days)")
    return days


def _add_config_flags(parser: argparse.ArgumentParser, *, inner: bool = False) -> None:
    # On a subcommand the flags default to "not given", so that `bilik server --config F
    # token` keeps the F given before the subcommand.
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if inner else {}
    parser.add_argument("--config", type=Path, help="server.toml (section [server])", **extra)
    parser.add_argument("--host", help="listen address (default 127.0.0.1)", **extra)
    parser.add_argument("--port", type=int, help="listen port (default 8765)", **extra)
    parser.add_argument("--data-dir", type=Path, help="database and secret (default var/server)",
                        **extra)
    parser.add_argument("--insecure-plaintext", action="store_true",
                        help="DEVELOPMENT ONLY: serve plain http:// and ws:// instead of TLS",
                        **({"default": argparse.SUPPRESS} if inner else {"default": None}))


def load_config(args: argparse.Namespace) -> ServerConfig:
    return cfg.load(
        ServerConfig, "server", path=getattr(args, "config", None),
        overrides={"host": getattr(args, "host", None), "port": getattr(args, "port", None),
                   "data_dir": getattr(args, "data_dir", None),
                   "insecure_plaintext": getattr(args, "insecure_plaintext", None)},
    )


def load_rules(args: argparse.Namespace) -> QueueRules:
    """The ``[queue]`` section of the same file (and ``BILIK_QUEUE_*``)."""
    return cfg.load(QueueRules, "queue", path=getattr(args, "config", None))


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
    _audit_offline(config, tlscli.person(args), "token_issued", args.device_id,
                   {"role": args.role, "ttl_days": args.ttl_days})
    if args.json:
        print(json.dumps({"id": args.device_id, "role": args.role, "token": token}))
    else:
        print(token)
    return 0


def _audit_offline(config: ServerConfig, actor: str, action: str, subject: str,
                   detail: dict[str, Any]) -> None:
    """An action a person took on the command line, in the branch's audit log."""
    from signaling.store import DB_FILE, Store

    store = Store(config.data_dir / DB_FILE)
    try:
        store.audit(time.time(), actor, action, subject, detail)
    finally:
        store.close()


def run(args: argparse.Namespace) -> int:
    import asyncio

    from signaling.app import make_app
    from signaling.ca import CaFiles, server_context
    from signaling.gate import raise_fd_limit

    config = load_config(args)
    rules = load_rules(args)
    _check_data_dir(config.data_dir)
    # TLS only, unless the development switch: no certificate, no start (never plain).
    context = None if config.insecure_plaintext else server_context(CaFiles.of(config.data_dir))
    nofile = raise_fd_limit()
    app = make_app(config, queue_rules=rules)
    scheme = "http" if config.insecure_plaintext else "https"
    log.info("listening", extra={"fields": {"url": f"{scheme}://{config.host}:{config.port}",
                                            "nofile": nofile}})
    gcpause.settle()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(app, config, context))
    return 0


async def _serve(app: Any, config: ServerConfig, context: ssl.SSLContext | None) -> None:
    """Like aiohttp's run_app, with the connection gate in front of the listening socket."""
    import asyncio
    import signal

    from aiohttp import web

    from signaling.gate import GatedSite
    from signaling.server import SERVER_KEY
    from signaling.tlssite import TlsSite

    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_OnceAMinute(loop))
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        site: web.BaseSite
        if context is None:  # insecure_plaintext: development only (docs/security.md)
            log.warning("serving plain http:// and ws:// (insecure_plaintext): development only")
            site = GatedSite(runner, app[SERVER_KEY].gate, config.host, config.port)
        else:
            site = TlsSite(runner, app[SERVER_KEY].gate, config.host, config.port, context)
        await site.start()
        await stop.wait()
    finally:
        await runner.cleanup()


class _OnceAMinute:
    """The loop's error log, at most once a minute per message: when the process is out of
    file descriptors, asyncio's accept loop would log every failed accept (tens of MB)."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.last: dict[str, float] = {}

    def __call__(self, loop: Any, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        now = time.monotonic()
        if now - self.last.get(message, -60.0) < 60.0:
            return
        self.last[message] = now
        loop.default_exception_handler(context)
