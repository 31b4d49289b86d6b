"""One run of the demo: start the branch, let participants and officers act, report, stop.

Signals: SIGINT (Ctrl-C) and SIGTERM set the stop event; whatever is running then is
cancelled and :meth:`Branch.close` stops every child (SIGTERM, then SIGKILL after the
grace). A child that stops on its own ends the run with its log named (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bilik import logs
from demo import limits, overview
from demo.branch import Branch, Options, get_json
from demo.errors import DemoError
from demo.officers import SimulatedOfficer
from demo.participants import Participants
from demo.progress import Progress, progress_text, summary_line

log = logging.getLogger(__name__)


class Session:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.branch = Branch(options)
        self.progress = Progress()
        self.rng = random.Random(options.seed)
        self.queue: dict[str, Any] | None = None
        self.officer_media: dict[str, str] = {}  # hub -> "browser" / "synthetic" / "none"
        self.started = time.monotonic()
        self.overview_url = ""
        self.stop = asyncio.Event()
        self._held_warned: set[str] = set()

    def say(self, obj: dict[str, Any], text: str) -> None:
        print(json.dumps(obj) if self.options.json else text, flush=True)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)
        runner: web.AppRunner | None = None
        participants: Participants | None = None
        code = 0
        self.branch.make_room()
        quiet = _log_to_file(self.branch.group.log_dir / "demo.log")
        try:
            self.branch.prepare()
            self.say({"event": "starting", "logs": str(self.branch.group.log_dir)},
                     f"Starting a simulated branch in {self.options.data_dir} "
                     f"(logs in {self.branch.group.log_dir})...")
            await self._until_stopped(self.branch.start(self.stop))
            if self.stop.is_set():
                return 0
            runner = await self._serve_overview()
            participants = Participants(
                kiosk_url=self.branch.kiosk_url, ws_url=self.branch.ws_url,
                watch_token=self.branch.watch_token, ssl_context=self.branch.ssl,
                booths=self.branch.booths,
                corpus=self.branch.frames, progress=self.progress, rng=self.rng,
                rate_per_min=self.options.rate_per_min, limit=self.options.participants)
            await participants.start()
            self._announce()
            await self._until_stopped(self._work(participants))
        except DemoError as exc:
            print(f"bilik demo: error: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            self.say({"event": "stopping"}, "Stopping every process of the branch...")
            if participants is not None:
                await participants.close()
            if runner is not None:
                await runner.cleanup()
            await asyncio.to_thread(self.branch.close)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            self.say({"event": "stopped"}, "Stopped; no process of the demo is left.")
            quiet()
            print(summary_line(self.progress.summary(time.monotonic() - self.started)),
                  flush=True)
        return code

    async def _until_stopped(self, coro: Any) -> None:
        """Run ``coro`` until it ends or the stop event is set (then it is cancelled)."""
        work = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, stopper):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            with contextlib.suppress(asyncio.CancelledError):
                await work

    async def _work(self, participants: Participants) -> None:
        timeout = aiohttp.ClientTimeout(total=limits.HTTP_TIMEOUT_S)
        async with aiohttp.ClientSession(
                timeout=timeout, connector=aiohttp.TCPConnector(ssl=self.branch.ssl or True)
        ) as http:
            officers = [SimulatedOfficer(o, self.progress, random.Random(self.rng.random()))
                        for o in self.branch.officers]
            tasks = [asyncio.ensure_future(o.run(http)) for o in officers]
            tasks.append(asyncio.ensure_future(participants.arrive(http)))
            try:
                await self._watch(http, participants, tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, http: aiohttp.ClientSession, participants: Participants,
                     tasks: Sequence[asyncio.Future[None]]) -> None:
        next_report = 0.0
        while True:
            self.branch.check()
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise DemoError(f"the simulation failed: {task.exception()}")
            participants.collect_receipts()
            for kit in self.branch.booths.values():
                overview.prune_screens(kit.screens)
            if time.monotonic() >= next_report:
                self.queue = await get_json(http, self.branch.http + "/api/queue",
                                            token=self.branch.admin_token)
                await self._read_officer_media(http)
                report = self.progress.report(time.monotonic() - self.started)
                self.say(report, progress_text(report))
                self._warn_held_booths()
                next_report = time.monotonic() + limits.REPORT_EVERY_S
            wanted = self.options.participants
            if wanted and self.progress.served >= wanted:
                return
            await asyncio.sleep(limits.POLL_S)

    def _warn_held_booths(self) -> None:
        """Say so when the queue still holds a booth whose participant left long ago: that
        booth calls nobody again, and the demo would otherwise just seem to stall."""
        booths = (self.queue or {}).get("booths", {})
        now = time.time()
        for visit in self.progress.served_visits():
            held = booths.get(visit.booth, {})
            if (held.get("ticket") == visit.ticket and visit.booth not in self._held_warned
                    and now - (visit.served_at or now) > limits.HELD_AFTER_RECEIPT_S):
                self._held_warned.add(visit.booth)
                print(f"bilik demo: warning: {visit.booth} printed the receipt of "
                      f"{visit.number} {now - (visit.served_at or now):.0f} s ago, but the "
                      f"queue still holds it as {held.get('state')}: the session was not "
                      "ended, so this booth calls nobody else", file=sys.stderr, flush=True)

    async def _read_officer_media(self, http: aiohttp.ClientSession) -> None:
        """Whose camera each booth in focus sees: the console's, or the synthetic officer."""
        for o in self.branch.officers:
            health = await get_json(http, o.console.replace("/console/", "/healthz"))
            media = (health or {}).get("officer_media") or {}
            self.officer_media[o.hub] = str(media.get("source") or "unknown")

    async def _serve_overview(self) -> web.AppRunner:
        app = overview.make_app({b: k.screens for b, k in self.branch.booths.items()},
                                self._overview_data)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.options.overview_port)
        await site.start()
        port = runner.addresses[0][1]
        self.overview_url = f"http://127.0.0.1:{port}/"
        return runner

    def _overview_data(self) -> dict[str, Any]:
        return {
            "progress": self.progress.report(time.monotonic() - self.started),
            "queue": self.queue,
            "links": self._links(),
        }

    def _links(self) -> dict[str, Any]:
        return {
            "overview": self.overview_url,
            "tv": self.branch.tv_url,
            "officers": [{"hub": o.hub, "id": o.id, "pin": o.pin, "console": o.console,
                          "officer_media": self.officer_media.get(o.hub, "unknown")}
                         for o in self.branch.officers],
            "pids": self.branch.pids(),
        }

    def _announce(self) -> None:
        links = self._links()
        lines = ["", "The branch is open.",
                 f"  Branch overview (every booth's screen): {self.overview_url}",
                 f"  Queue display (TV page):                {self.branch.tv_url}"]
        for o in self.branch.officers:
            lines.append(f"  Officer console {o.hub}: {o.console}  sign in as {o.id}, "
                         f"PIN {o.pin}")
        lines.append("  (a simulated officer is already signed in at each console; "
                     "watch it work. Until a console page connects its camera and "
                     "microphone, the booth in focus sees and hears a synthetic officer)")
        if self.options.participants:
            lines.append(f"{self.options.participants} participant(s) will come; the demo "
                         "stops once they are served.")
        lines.append("Press Ctrl-C to stop.")
        self.say({"event": "ready", **links}, "\n".join(lines))
        consoles = [o.console for o in self.branch.officers[:1]]
        if not self.options.headless and self.branch.open_browser(self.overview_url,
                                                                   *consoles):
            self.say({"event": "browser"},
                     "Opened the overview and the first officer's console in Chromium (the "
                     "console asks for this machine's camera and microphone: the officer's).")


def _log_to_file(path: Path) -> Callable[[], None]:
    """This process's own log goes to ``path``; the terminal keeps warnings and errors,
    so that progress lines are not buried. Returns the undo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.TextFormatter())
    before = {h: h.level for h in root.handlers}
    for h in root.handlers:
        h.setLevel(max(h.level, logging.WARNING))
    root.addHandler(handler)

    def undo() -> None:
        root.removeHandler(handler)
        handler.close()
        for h, level in before.items():
            h.setLevel(level)

    return undo
