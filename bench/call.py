"""Benchmark of the officer hub: N booths (each its own process) calling one hub.

    .venv/bin/python bench/call.py --booths 6 [--replay] [--seconds 20]

Starts a branch server, one hub and N booth agents as separate ``bilik`` processes on
loopback, waits until every booth's video is decoded at the hub, then measures for
``--seconds``: the hub's CPU (in cores: CPU seconds per wall second, from the kernel's
accounting), its resident memory, every booth's frame rate at the hub and the
capture-to-decode latency percentiles (the hub's own measurement, from the timecode in
each picture, limited to frames decoded during the measurement). Prints one JSON object.

With ``--replay`` the booths send a pre-encoded VP8 loop instead of encoding live, so
on a small machine the hub is measured rather than N encoders sharing its cores; the
latency then excludes encoding.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bilik.processes import BranchProcesses

START_S = 120.0
FPS = 15
RESOLUTION = "640x480"


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_mb": round(psutil.virtual_memory().total / 2**20),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# Every call of the run stays on loopback.
os.environ["BILIK_ICE_ADDRESSES"] = "127.0.0.1"
# These benches measure media, in clear with the development switch (docs/security.md);
# bench/signaling.py --tls measures the server over TLS.
for _role in ("SERVER", "BOOTH", "HUB", "KIOSK", "DISPLAY"):
    os.environ.setdefault(f"BILIK_{_role}_INSECURE_PLAINTEXT", "true")


class Branch(BranchProcesses):
    def wait(self, check: Any, what: str) -> Any:
        deadline = time.monotonic() + START_S
        while not (result := check()):
            if time.monotonic() > deadline:
                raise SystemExit(f"bench/call.py: timed out waiting for {what} (logs: {self.root})")
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(
                        f"bench/call.py: {name} exited with {proc.returncode} "
                        f"(log: {self.root / (name + '.log')})"
                    )
            time.sleep(0.2)
        return result


def run(booths: int, replay: bool, seconds: float, root: Path) -> dict[str, Any]:
    branch = Branch(root)
    try:
        branch.spawn("server", "server", "--data-dir", str(branch.data), "--port", str(branch.port))
        branch.wait(branch.server_up, "the server")
        hub_token = branch.token_file("hub", "hub-01")
        hub = branch.spawn(
            "hub",
            "hub",
            "--server",
            branch.url,
            "--token-file",
            str(hub_token),
            "--metrics-port",
            str(branch.hub_port),
            # This bench measures the booth-to-hub leg: the hub reads every booth's timecode,
            # and with no console it is its own (synthetic) officer.
            "--inspect-video",
            "--synthetic-officer",
        )
        branch.wait(lambda: (branch.health() or {}).get("signaling") == "connected", "the hub")
        source: list[str] = []
        if replay:
            loop = root / "loop.ivf"
            subprocess.run(
                branch.command("booth", "make-replay", str(loop), "--fps", str(FPS)),
                check=True,
                capture_output=True,
                timeout=START_S,
            )
            source = ["--source", "replay", "--replay-file", str(loop)]
        names = [f"booth-{i:02d}" for i in range(1, booths + 1)]
        for name in names:
            token = branch.token_file("booth", name)
            branch.spawn(
                name,
                "booth",
                "--server",
                branch.url,
                "--token-file",
                str(token),
                "--id",
                name,
                "--flow",
                "direct",
                "--fps",
                str(FPS),
                *source,
            )

        def all_streaming() -> bool:
            found = (branch.health() or {}).get("booths", {})
            return all(found.get(n, {}).get("frames", 0) >= 2 * FPS for n in names)

        branch.wait(all_streaming, f"video from {booths} booth(s)")
        hub_ps = psutil.Process(hub.pid)
        booth_ps = [psutil.Process(branch.procs[n].pid) for n in names]
        first = branch.health()
        assert first is not None
        cpu0 = hub_ps.cpu_times()
        booth_cpu0 = sum(sum(p.cpu_times()[:2]) for p in booth_ps)
        wall0 = time.monotonic()
        rss_max = 0
        while time.monotonic() - wall0 < seconds:
            rss_max = max(rss_max, hub_ps.memory_info().rss)
            time.sleep(0.5)
        cpu1 = hub_ps.cpu_times()
        booth_cpu1 = sum(sum(p.cpu_times()[:2]) for p in booth_ps)
        wall = time.monotonic() - wall0
        last = branch.health(since_ms=first["now_ms"])
        assert last is not None
        span_ms = last["now_ms"] - first["now_ms"]
        per_booth = {}
        for name in names:
            a, b = first["booths"].get(name, {}), last["booths"].get(name, {})
            per_booth[name] = {
                "fps": round((b.get("frames", 0) - a.get("frames", 0)) * 1000 / span_ms, 2),
                "p50_ms": b.get("p50_ms"),
                "p95_ms": b.get("p95_ms"),
                "p99_ms": b.get("p99_ms"),
                "unreadable_timecodes": b.get("unreadable", 0) - a.get("unreadable", 0),
                "renegotiations": b.get("negotiations", 1) - a.get("negotiations", 1),
            }
        hub_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall
        return {
            "bench": "call",
            "booths": booths,
            "replay": replay,
            "seconds": round(wall, 1),
            "target_fps": FPS,
            "resolution": RESOLUTION,
            "hub": {
                "cpu_cores": round(hub_cpu, 3),
                "rss_mb": round(hub_ps.memory_info().rss / 2**20, 1),
                "rss_max_mb": round(rss_max / 2**20, 1),
                "loop_lag_ms": last.get("loop_lag_ms"),
            },
            "booth_processes_cpu_cores": round((booth_cpu1 - booth_cpu0) / wall, 3),
            "per_booth": per_booth,
            "worst": {
                "fps": min(v["fps"] for v in per_booth.values()),
                "p50_ms": max(v["p50_ms"] or 0 for v in per_booth.values()),
                "p95_ms": max(v["p95_ms"] or 0 for v in per_booth.values()),
                "p99_ms": max(v["p99_ms"] or 0 for v in per_booth.values()),
            },
            "machine": machine(),
        }
    finally:
        branch.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--booths",
        type=int,
        default=1,
        choices=range(1, 7),
        metavar="N",
        help="booths calling the hub, 1-6 (default 1)",
    )
    parser.add_argument(
        "--replay",
        action="store_true",
        help="booths send a pre-encoded VP8 loop instead of encoding live",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement (default 20)")
    parser.add_argument("--keep-logs", type=Path, help="write the processes' logs here")
    args = parser.parse_args()
    if args.keep_logs:
        args.keep_logs.mkdir(parents=True, exist_ok=True)
        result = run(args.booths, args.replay, args.seconds, args.keep_logs)
    else:
        with tempfile.TemporaryDirectory(prefix="bilik-bench-call-") as tmp:
            result = run(args.booths, args.replay, args.seconds, Path(tmp))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
