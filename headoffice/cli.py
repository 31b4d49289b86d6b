"""``bilik headoffice``: run the head office, register branches' keys, import bookings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from bilik import config as cfg
from headoffice import limits
from headoffice.config import HeadOfficeConfig
from headoffice.errors import BadInput

log = logging.getLogger(__name__)


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help="run the head office (bundles from branches, bookings)",
        description="Run the head office: receive evidence bundles from branches into "
        "PostgreSQL and serve each branch its day's bookings. Several processes may serve one "
        "database. Without a subcommand it serves until Ctrl-C.")
    _flags(parser)
    parser.set_defaults(func=run)
    inner = parser.add_subparsers(dest="headoffice_command", metavar="SUBCOMMAND")

    branch = inner.add_parser("branch", help="register branches and their public keys")
    branch_sub = branch.add_subparsers(dest="branch_command", metavar="ACTION", required=True)
    add = branch_sub.add_parser(
        "add", help="register a branch's public key (from `bilik evidence public-key`)",
        description="Register a branch, or give it a new key. Its bundles and requests are "
        "checked against this key.")
    add.add_argument("branch_id", metavar="ID", help="the branch's id, e.g. kc-01")
    add.add_argument("--public-key", type=Path, required=True, metavar="FILE",
                     help="the branch's public key (PEM)")
    _flags(add, inner=True)
    add.set_defaults(func=add_branch)
    lst = branch_sub.add_parser("list", help="list the registered branches")
    _flags(lst, inner=True)
    lst.set_defaults(func=list_branches)

    book = inner.add_parser("bookings", help="bookings the branches pull each day")
    book_sub = book.add_subparsers(dest="bookings_command", metavar="ACTION", required=True)
    imp = book_sub.add_parser(
        "import", help="import bookings (JSON list of {code, service, slot, branch, name})")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--branch", help="the branch of bookings that do not name one")
    _flags(imp, inner=True)
    imp.set_defaults(func=import_bookings)

    conf = inner.add_parser("config", help="print the default headoffice.toml")
    conf.set_defaults(func=lambda args: print(cfg.describe(HeadOfficeConfig, "headoffice"))
                      or 0)


def _flags(parser: argparse.ArgumentParser, *, inner: bool = False) -> None:
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if inner else {}
    parser.add_argument("--config", type=Path, help="headoffice.toml ([headoffice])", **extra)
    parser.add_argument("--host", help="listen address (default 127.0.0.1)", **extra)
    parser.add_argument("--port", type=int, help="listen port (default 8800)", **extra)
    parser.add_argument("--dsn", help="PostgreSQL connection URI", **extra)
    parser.add_argument("--blob-dir", type=Path, help="directory of the bundles' files",
                        **extra)


def load_config(args: argparse.Namespace) -> HeadOfficeConfig:
    return cfg.load(HeadOfficeConfig, "headoffice", path=getattr(args, "config", None),
                    overrides={k: getattr(args, k, None)
                               for k in ("host", "port", "dsn", "blob_dir")})


async def _with_pool(config: HeadOfficeConfig, work: Any) -> Any:
    from headoffice import database

    pool = await database.connect(config.dsn, min_size=1, max_size=2)
    try:
        return await work(pool)
    finally:
        await pool.close()


def add_branch(args: argparse.Namespace) -> int:
    from headoffice import database

    config = load_config(args)
    try:
        pem = args.public_key.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {args.public_key}: {exc.strerror}") from None
    database.check_branch_id(args.branch_id)
    key_id = asyncio.run(_with_pool(config, lambda pool: database.add_branch(
        pool, args.branch_id, pem, str(args.public_key))))
    print(f"branch {args.branch_id} registered with key {key_id[:16]}")
    return 0


def list_branches(args: argparse.Namespace) -> int:
    from headoffice import database

    rows = asyncio.run(_with_pool(load_config(args), database.list_branches))
    for row in rows:
        print(json.dumps(row.__dict__))
    return 0


def import_bookings(args: argparse.Namespace) -> int:
    from headoffice import bookings

    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {args.file}: {exc.strerror}") from None
    if len(raw) > limits.MAX_BOOKINGS_IMPORT_BYTES:
        raise BadInput(f"{args.file} is larger than {limits.MAX_BOOKINGS_IMPORT_BYTES} bytes")
    rows = bookings.parse_import(raw, args.branch)
    count = asyncio.run(_with_pool(load_config(args),
                                   lambda pool: bookings.import_bookings(pool, rows)))
    print(f"{count} bookings imported")
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
    return 0


async def _serve(config: HeadOfficeConfig) -> None:
    from aiohttp import web

    from headoffice.app import make_app

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(make_app(config), handle_signals=False, access_log=None,
                           shutdown_timeout=limits.SHUTDOWN_TIMEOUT_S)
    await runner.setup()  # connects to PostgreSQL and migrates: fails here, in one line
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        log.info("head office listening", extra={"fields": {
            "url": f"http://{config.host}:{config.port}", "blob_dir": str(config.blob_dir)}})
        print(f"listening on http://{config.host}:{config.port}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()
