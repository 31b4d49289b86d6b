"""The ``bilik`` command: one entry point, a subcommand per role.

Each role package contributes its subcommands through ``<package>.cli.register``
so that this module stays a thin switchboard.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bilik import __version__, logs
from bilik.errors import BilikError

# (subcommand, module that registers it). Imported lazily so that `bilik hw`
# does not pay for aiortc and `bilik server` does not open cameras.
ROLE_MODULES = (
    ("server", "signaling.cli"),
    ("hub", "officer.cli"),
    ("booth", "booth.cli"),
    ("kiosk", "booth.kiosk"),
    ("display", "booth.display"),
    ("hw", "hardware.cli"),
    ("demo", "bilik.demo"),
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bilik",
        description="Bilik: booth controller for one-to-many video service at branch offices.",
    )
    parser.add_argument("--version", action="version", version=f"bilik {__version__}")
    parser.add_argument(
        "--log-level", choices=logs.LEVELS, default="info", help="log verbosity (default: info)"
    )
    parser.add_argument(
        "--log-json", action="store_true", help="write logs as JSON lines (one object per line)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in ROLE_MODULES:
        module = importlib.import_module(module_name)
        module.register(sub, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(args.log_level, json_lines=args.log_json)
    try:
        result: int = args.func(args)
    except BilikError as exc:
        # Expected failures (bad config, unwritable data dir, absent device) get one
        # clear line, not a traceback.
        logging.getLogger("bilik").debug("command failed", exc_info=True)
        print(f"bilik {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
