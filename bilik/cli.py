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

# (subcommand, module that registers it, one line for `bilik --help`). Only the chosen
# role's module is imported: `bilik server` does not load aiortc, PyAV or OpenCV, `bilik hw`
# does not load aiortc, and `bilik booth` controls its own import order (OpenCV's window
# hangs if PyAV's bundled libxcb is loaded first; see booth/cli.py).
ROLE_MODULES = (
    ("server", "signaling.cli", "run the branch server (queue, pairing, records)"),
    ("hub", "officer.cli", "run the officer hub (up to six booth calls)"),
    ("booth", "booth.cli", "run the booth agent (camera, call to the officer)"),
    ("kiosk", "frontdesk.kiosk_cli", "run the ticket kiosk (tickets, booking check-in)"),
    ("display", "frontdesk.queue_display_cli", "run the queue display (pole, LED, TV page)"),
    ("hw", "hardware.cli", "hardware diagnostics and device emulators"),
    ("demo", "demo", "run a whole simulated branch on this machine"),
    ("evidence", "bilik.evidence.cli", "check evidence bundles offline, print the branch's key"),
    ("headoffice", "headoffice.cli", "run the head office (bundles from branches, bookings)"),
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def chosen_role(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, if any (the first role name given)."""
    names = {name for name, _module, _summary in ROLE_MODULES}
    return next((arg for arg in argv if arg in names), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
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
    chosen = chosen_role(argv)
    for name, module_name, summary in ROLE_MODULES:
        if name == chosen:
            importlib.import_module(module_name).register(sub, name)
        else:
            sub.add_parser(name, help=summary)  # listed in --help; loaded when chosen
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
