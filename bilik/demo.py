"""``bilik demo``: a simulated branch on this machine.

Starts the branch server, an officer hub and booth agents with synthetic cameras as
separate processes, issues each its credential, and reports every few seconds what
the hub receives from each booth over WebRTC (frame rate and capture-to-decode
latency). Ctrl-C stops every process; none is left behind.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bilik.errors import BilikError
from bilik.processes import ProcessGroup

log = logging.getLogger(__name__)

REPORT_EVERY_S = 3.0
START_TIMEOUT_S = 90.0  # aiortc imports are slow on a busy two-core machine


def register(sub: Any, name: str) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help="run a simulated branch on this machine",
        description="Start a branch server, an officer hub and booth agents with synthetic "
        "cameras as separate processes, and show the live video each booth sends to the hub. "
        "Ctrl-C stops everything.",
    )
    parser.add_argument("--booths", type=int, default=2, choices=range(1, 7), metavar="N",
                        help="booth agents to start, 1-6 (default: 2)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"),
                        help="where the demo keeps its database and logs (default: var/demo)")
    parser.add_argument("--fresh", action="store_true", help="wipe the data directory first")
    parser.add_argument("--port", type=int, default=0,
                        help="branch server port (default: a free one)")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--json", action="store_true",
                        help="print progress as JSON lines")
    parser.set_defaults(func=run)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            return json.loads(reply.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None


def _token(group_env: dict[str, str], data_dir: Path, role: str, device: str) -> Path:
    from signaling import tokens

    secret = tokens.load_or_create_secret(data_dir / "server")
    path = data_dir / "tokens" / f"{device}.token"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tokens.issue(secret, device, role, now=time.time(), ttl_s=7 * 86400))
    path.chmod(0o600)
    return path


def run(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    if args.fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    port = args.port or free_port()
    hub_port = free_port()
    ws_url = f"ws://127.0.0.1:{port}/ws"
    stop = {"now": False}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    with ProcessGroup(data_dir / "logs") as group:
        group.bilik("server", "server", "--data-dir", str(data_dir / "server"),
                    "--port", str(port))
        hub_token = _token(group.env, data_dir, "hub", "hub-01")
        group.bilik("hub-01", "hub", "--server", ws_url, "--token-file", str(hub_token),
                    "--metrics-port", str(hub_port))
        for n in range(1, args.booths + 1):
            booth = f"booth-{n:02d}"
            token = _token(group.env, data_dir, "booth", booth)
            group.bilik(booth, "booth", "--server", ws_url, "--token-file", str(token))
        _say(args, {"event": "started", "server": f"http://127.0.0.1:{port}/healthz",
                    "hub": f"http://127.0.0.1:{hub_port}/healthz",
                    "logs": str(data_dir / "logs")},
             f"Bilik demo: server http://127.0.0.1:{port}/healthz, "
             f"officer hub http://127.0.0.1:{hub_port}/healthz, logs in {data_dir / 'logs'}\n"
             "Press Ctrl-C to stop.")
        started = time.monotonic()
        try:
            while not stop["now"]:
                dead = group.dead()
                if dead:
                    raise BilikError(
                        "demo process(es) stopped: "
                        + ", ".join(f"{n} (exit {c})" for n, c in dead.items())
                        + f"; see {data_dir / 'logs'}"
                    )
                _report(args, hub_port, started)
                if args.duration and time.monotonic() - started >= args.duration:
                    break
                _sleep(REPORT_EVERY_S, stop)
        except KeyboardInterrupt:
            pass
        _say(args, {"event": "stopping"}, "Stopping the branch...")
    _say(args, {"event": "stopped"}, "Stopped.")
    return 0


def _sleep(seconds: float, stop: dict[str, bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop["now"] and time.monotonic() < deadline:
        time.sleep(0.1)


def _report(args: argparse.Namespace, hub_port: int, started: float) -> None:
    since = int((time.time() - REPORT_EVERY_S) * 1000)
    health = _get_json(f"http://127.0.0.1:{hub_port}/healthz?since_ms={since}")
    elapsed = time.monotonic() - started
    if not health:
        if elapsed > START_TIMEOUT_S:
            raise BilikError(f"the officer hub did not start within {START_TIMEOUT_S:g} s")
        _say(args, {"event": "starting"}, "starting...")
        return
    booths = health.get("booths", {})
    parts = [
        f"{b}: {r.get('fps', 0):.1f} fps, latency p50 {r.get('p50_ms') or 0:.0f} ms"
        for b, r in sorted(booths.items())
    ]
    _say(args, {"event": "progress", "booths": booths},
         f"hub receives {len(booths)} booth(s): " + ("; ".join(parts) or "waiting for booths"))


def _say(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    print(json.dumps(obj) if args.json else text, flush=True)
    sys.stdout.flush()
