"""Benchmark of the officer hub at full load: six booths, focus switching, console open.

    .venv/bin/python bench/hub.py [--replay] [--booths 6] [--seconds 30] [--switch-s 3]

Starts a branch server and one hub (``bilik`` processes) and N simulated booths, each
its own process (``tests/officer/simbooth.py``: real aiortc, send-and-receive video and
audio), 640x480 at 15 fps; with ``--replay`` the booths send a pre-encoded VP8 loop
instead of encoding live, so the hub is measured rather than N encoders sharing its
cores. A headless Chromium signs in to the hub's console and keeps it open (six tiles
refreshing); the officer's focus moves to the next booth every ``--switch-s`` seconds by
keyboard, as an officer would.

Prints one JSON object: hub CPU in cores (kernel accounting) and RSS; per booth the
frame rate at the hub, the received bitrate, capture-to-decode latency p50/p95/p99 (the
hub's own timecode reading); the return video's latency at the focused booth (officer
camera capture to booth decode); focus-switch times (command to the first packet of the
new stream sent, from the hub); the hub's event-loop lag; the browser's and booths' CPU;
and the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# Run as a script, this directory is first on sys.path, where bench/signaling.py would
# hide the signaling package: put the repository first instead.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_call", BENCH / "call.py")
assert _spec is not None and _spec.loader is not None
_call = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_call)
FPS, RESOLUTION, START_S = _call.FPS, _call.RESOLUTION, _call.START_S
Branch, get_json, machine = _call.Branch, _call.get_json, _call.machine
OFFICER, PIN = "bench", "13579"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def run(booths: int, replay: bool, seconds: float, switch_s: float, root: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from signaling.cases import add_officer_offline

    branch = Branch(root)
    try:
        branch.spawn("server", "server", "--data-dir", str(branch.data), "--port", str(branch.port))
        branch.wait(lambda: get_json(f"http://127.0.0.1:{branch.port}/healthz"), "the server")
        add_officer_offline(branch.data, OFFICER, PIN)
        hub_token = branch.token_file("hub", "hub-01")
        hub = branch.spawn("hub", "hub", "--server", branch.url, "--token-file", str(hub_token),
                           "--metrics-port", str(branch.hub_port))
        branch.wait(lambda: (branch.health() or {}).get("signaling") == "connected", "the hub")
        extra: list[str] = []
        if replay:
            loop = root / "loop.ivf"
            subprocess.run(branch.bilik("booth", "make-replay", str(loop), "--fps", str(FPS)),
                           check=True, capture_output=True, timeout=START_S)
            extra = ["--replay", str(loop)]
        names = [f"booth-{i:02d}" for i in range(1, booths + 1)]
        stats_files = {}
        for name in names:
            token = branch.token_file("booth", name)
            stats_files[name] = root / f"{name}.json"
            with open(root / f"{name}.log", "ab") as log:
                branch.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "tests.officer.simbooth", "--server", branch.url,
                     "--token-file", str(token), "--stats", str(stats_files[name]), *extra],
                    stdout=log, stderr=log, cwd=REPO)

        def all_streaming() -> bool:
            found = (branch.health() or {}).get("booths", {})
            return all(found.get(n, {}).get("frames", 0) >= 2 * FPS for n in names)

        branch.wait(all_streaming, f"video from {booths} booth(s)")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(f"http://127.0.0.1:{branch.hub_port}/console/")
                page.fill("#officer", OFFICER)
                page.fill("#pin", PIN)
                page.click("#sign-in-button")
                page.wait_for_selector(".tile[data-booth]", timeout=START_S * 1000)
                page.keyboard.press("1")
                time.sleep(2.0)  # warm-up: tiles flowing, first focus settled
                return measure(branch, hub, names, stats_files, seconds, switch_s, page,
                               browser_pid(), replay, booths)
            finally:
                browser.close()
    finally:
        branch.stop()


def browser_pid() -> list[psutil.Process]:
    me = psutil.Process()
    return [c for c in me.children(recursive=True) if "chrom" in c.name().lower()]


def cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def measure(branch: Any, hub: subprocess.Popen[bytes], names: list[str],
            stats_files: dict[str, Path], seconds: float, switch_s: float, page: Any,
            chrome: list[psutil.Process], replay: bool, booths: int) -> dict[str, Any]:
    hub_ps = psutil.Process(hub.pid)
    booth_ps = [psutil.Process(branch.procs[n].pid) for n in names]
    first = branch.health()
    assert first is not None
    switches_before = len(first.get("switch_ms", []))
    cpu0, booth0, chrome0 = cpu([hub_ps]), cpu(booth_ps), cpu(chrome)
    wall0 = time.monotonic()
    rss_max = 0
    next_switch = wall0 + switch_s
    slot = 1
    while time.monotonic() - wall0 < seconds:
        rss_max = max(rss_max, hub_ps.memory_info().rss)
        if time.monotonic() >= next_switch:
            slot = slot % len(names) + 1
            page.keyboard.press(str(slot))
            next_switch += switch_s
        time.sleep(0.2)
    wall = time.monotonic() - wall0
    cpu1, booth1, chrome1 = cpu([hub_ps]), cpu(booth_ps), cpu(chrome)
    last = branch.health(since_ms=first["now_ms"])
    assert last is not None
    span_s = (last["now_ms"] - first["now_ms"]) / 1000
    per_booth = {}
    for name in names:
        a, b = first["booths"].get(name, {}), last["booths"].get(name, {})
        per_booth[name] = {
            "fps": round((b.get("frames", 0) - a.get("frames", 0)) / span_s, 2),
            "rx_kbit_s": round(
                (b.get("rx_bytes", 0) - a.get("rx_bytes", 0)) * 8 / span_s / 1000, 1
            ),
            "p50_ms": b.get("p50_ms"),
            "p95_ms": b.get("p95_ms"),
            "p99_ms": b.get("p99_ms"),
            "unreadable_timecodes": b.get("unreadable", 0) - a.get("unreadable", 0),
        }
    returns = {}
    for name, path in stats_files.items():
        try:
            returns[name] = json.loads(path.read_text())
        except (OSError, ValueError):
            returns[name] = {}
    switch = [s["ms"] for s in last.get("switch_ms", [])[switches_before:]]
    video_switch = [s["ms"] for s in last.get("switch_ms", [])[switches_before:]
                    if s["kind"] == "video"]
    return_p95 = [r["return_p95_ms"] for r in returns.values() if r.get("return_p95_ms")]
    return_p50 = [r["return_p50_ms"] for r in returns.values() if r.get("return_p50_ms")]
    return {
        "bench": "hub",
        "booths": booths,
        "replay": replay,
        "seconds": round(wall, 1),
        "target_fps": FPS,
        "resolution": RESOLUTION,
        "focus_switch_every_s": switch_s,
        "hub": {
            "cpu_cores": round((cpu1 - cpu0) / wall, 3),
            "rss_mb": round(hub_ps.memory_info().rss / 2**20, 1),
            "rss_max_mb": round(rss_max / 2**20, 1),
            "loop_lag_ms": last.get("loop_lag_ms"),
            "return_streams": last.get("return_streams"),
        },
        "per_booth": per_booth,
        "worst": {
            "fps": min(v["fps"] for v in per_booth.values()),
            "p50_ms": max(v["p50_ms"] or 0 for v in per_booth.values()),
            "p95_ms": max(v["p95_ms"] or 0 for v in per_booth.values()),
            "p99_ms": max(v["p99_ms"] or 0 for v in per_booth.values()),
        },
        "return_video": {
            "per_booth": {n: {k: r.get(k) for k in ("officer_frames", "card_frames",
                                                     "return_p50_ms", "return_p95_ms")}
                          for n, r in returns.items()},
            "worst_p50_ms": max(return_p50) if return_p50 else None,
            "worst_p95_ms": max(return_p95) if return_p95 else None,
        },
        "focus_switch_ms": {
            "switches": len(video_switch),
            "video_p50": percentile(video_switch, 50),
            "video_max": max(video_switch) if video_switch else None,
            "all_max": max(switch) if switch else None,
        },
        "browser_cpu_cores": round((chrome1 - chrome0) / wall, 3),
        "booth_processes_cpu_cores": round((booth1 - booth0) / wall, 3),
        "machine": machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--booths", type=int, default=6, choices=range(1, 7), metavar="N")
    parser.add_argument("--replay", action="store_true",
                        help="booths send a pre-encoded VP8 loop instead of encoding live")
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement (default 30)")
    parser.add_argument("--switch-s", type=float, default=3.0,
                        help="seconds between focus switches (default 3)")
    parser.add_argument("--keep-logs", type=Path, help="write the processes' logs here")
    args = parser.parse_args()
    if args.keep_logs:
        args.keep_logs.mkdir(parents=True, exist_ok=True)
        result = run(args.booths, args.replay, args.seconds, args.switch_s, args.keep_logs)
    else:
        with tempfile.TemporaryDirectory(prefix="bilik-bench-hub-") as tmp:
            result = run(args.booths, args.replay, args.seconds, args.switch_s, Path(tmp))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
