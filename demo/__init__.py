"""``bilik demo``: a whole simulated branch on this machine (what ``make demo`` runs).

The branch server, two officer hubs, six booths, a ticket kiosk and the queue display run
as separate processes (:mod:`demo.branch`); their printers, ticket readers and
document cameras are emulators in this process. Simulated participants take tickets,
watch the calls and scan their ticket and documents at the booth
(:mod:`demo.participants`); a simulated officer per hub works the officer console's
own API (:mod:`demo.officers`). The overview page (:mod:`demo.overview`) shows
every booth's screen live. See docs/demo.md.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from demo import limits


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run a whole simulated branch on this machine",
        description="Start a branch server, officer hubs, booths, a ticket kiosk and the queue "
        "display as separate processes with emulated devices; simulated participants take "
        "tickets and are served by simulated officers. Prints the URLs of the officer "
        "consoles, the branch overview and the queue display, and progress every few seconds. "
        "Ctrl-C stops everything. With --participants N it stops once N were served and "
        "prints a JSON summary as its last line.",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"),
                        help="database, credentials, pictures and logs (default: var/demo)")
    parser.add_argument("--fresh", action="store_true", help="wipe the data directory first")
    parser.add_argument("--headless", action="store_true",
                        help="do not open a browser (the URLs are printed either way)")
    parser.add_argument("--participants", type=int, default=0, metavar="N",
                        help="N participants come; stop once all are served (default: "
                        "they keep coming until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=limits.RATE_PER_MIN, metavar="PER_MIN",
                        help=f"participants arriving a minute (default {limits.RATE_PER_MIN:g}: "
                        "more than two officers clear, so a queue forms)")
    parser.add_argument("--booths", type=int, default=limits.BOOTHS, choices=range(1, 7),
                        metavar="N", help=f"booths, 1-6 (default {limits.BOOTHS})")
    parser.add_argument("--hubs", type=int, default=limits.HUBS, choices=range(1, 3),
                        metavar="N", help=f"officer hubs, 1-2 (default {limits.HUBS})")
    parser.add_argument("--port", type=int, default=0,
                        help="branch server port (default: a free one)")
    parser.add_argument("--overview-port", type=int, default=0,
                        help="overview page port (default: a free one)")
    parser.add_argument("--seed", type=int, help="seed of the participants' and officers' "
                        "random choices (default: a different run each time)")
    parser.add_argument("--json", action="store_true", help="print progress as JSON lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from demo.branch import Options
    from demo.errors import DemoError
    from demo.session import Session

    if args.participants < 0:
        raise DemoError("--participants must be 0 or more")
    if args.rate <= 0:
        raise DemoError("--rate must be more than 0 a minute")
    options = Options(
        data_dir=args.data_dir, fresh=args.fresh, booths=args.booths, hubs=args.hubs,
        port=args.port, overview_port=args.overview_port, rate_per_min=args.rate,
        participants=args.participants, headless=args.headless, seed=args.seed,
        json=args.json,
    )

    async def main() -> int:
        return await Session(options).run()

    return asyncio.run(main())
