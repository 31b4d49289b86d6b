"""Benchmark of the officer hub at full load: six booths, focus switching, console open.

    .venv/bin/python bench/hub.py [--replay | --both] [--booths 6] [--seconds 30] [--switch-s 3]
                                  [--officer browser|synthetic] [--inspect-video] [--record]

Starts a branch server and one hub (``bilik`` processes) and N simulated booths, each
its own process (``tests/officer/simbooth.py``: real aiortc, send-and-receive video and
audio), 640x480 at 15 fps; with ``--replay`` the booths send a pre-encoded VP8 loop
instead of encoding live, so the hub is measured rather than N encoders sharing its
cores; ``--both`` runs live, then replayed, and prints ``{"live": ..., "replay": ...}``.
A headless Chromium signs in to the hub's console and keeps it open: with ``--officer
browser`` (the default) it is the officer's media, its fake camera playing the test pattern
(an 8-second Y4M loop whose frames carry their position) and its fake microphone a tone,
and it receives every booth's video and the focused booth's voice, all forwarded by the
hub; with ``--officer synthetic`` the page's media is off and the hub sends its synthetic
officer. The officer's focus moves to the next booth every ``--switch-s`` seconds by
keyboard, as an officer would. All traffic stays on loopback (``BILIK_ICE_ADDRESSES``).

Prints one JSON object; every figure is measured over the measurement window, none is
estimated:

* hub CPU in cores (the kernel's accounting of the hub process) and RSS (now and max);
* per booth: frame rate arriving at the hub, received bitrate (all media, from aiortc's
  transport counters), the same split into the time the booth was in focus and the time
  it waited (``rx_focused_kbit_s``, ``rx_waiting_kbit_s``: booths out of focus may send
  smaller video), and, with ``--inspect-video`` only (the hub then decodes every booth),
  capture-to-decode latency at the hub p50/p95/p99;
* ``officer_source`` ("browser" or "synthetic"), ``console_fps`` (per booth, frames
  decoded in the page a second, from the page's getStats), ``booth_to_console_ms``
  (p50/p95: the booth's capture to the frame presented in the page, read from the
  timecode of every third frame in the page, ``bench/console_probe.js``) and
  ``officer_to_booth_ms`` (p50/p95: the officer's camera frame, as the page's self-view
  presented it, to the same frame decoded at the focused booth, by the Y4M's timecode);
* the return video's latency at the focused booths as the booths read it (``return_video``;
  for the browser officer it is relative to the camera loop's phase, see above);
* focus switching: at the hub, focus command to the first packet of the new stream
  handed to each sender; end to end, key press in the browser to the officer's first
  picture decoded at the booth (``key_to_booth_*``);
* the hub's event-loop lag over the window (probes every 0.25 s: p50, p99, max);
* the browser's and the booths' CPU, and the machine.

``--record``: every booth's participant accepts the recording at pairing, so the hub
records all of them (both directions, muxed without re-encoding, docs/recording.md) while
it is measured; the figures then add ``recording`` (files and bytes written in the window).

``--pin`` puts the hub and Chromium on core 0 and the booths and server on core 1: on a
2-core machine, an officer PC with one core of its own, apart from the booths.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bilik.processes import get_json
from bilik.webrtc.meter import percentile as _percentile

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
Branch, machine = _call.Branch, _call.machine
OFFICER, PIN = "bench", "13579"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--allow-loopback-in-peer-connection",
                 "--disable-features=WebRtcHideLocalIpsWithMdns",
                 "--autoplay-policy=no-user-gesture-required"]
LOOP_MS = 8000  # the fake camera's Y4M loop: the replay loop's length (bilik.webrtc.limits)
PROBE = BENCH / "console_probe.js"
# Every WebRTC connection of the run, booths, hub and browser, stays on loopback.
os.environ["BILIK_ICE_ADDRESSES"] = "127.0.0.1"
# These benches measure media, in clear with the development switch (docs/security.md);
# bench/signaling.py --tls measures the server over TLS.
for _role in ("SERVER", "BOOTH", "HUB", "KIOSK", "DISPLAY"):
    os.environ.setdefault(f"BILIK_{_role}_INSECURE_PLAINTEXT", "true")


def fake_devices(root: Path) -> list[str]:
    """Chromium's camera (the test pattern, an 8 s Y4M loop) and microphone (a tone)."""
    from tests.browser.fakemedia import write_wav, write_y4m

    video = write_y4m(root / "officer.y4m", seconds=LOOP_MS / 1000)
    audio = write_wav(root / "officer.wav")
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
            f"--use-file-for-fake-audio-capture={audio}"]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, or ``None`` of no values."""
    if not values:
        return None
    return _percentile(sorted(values), q)


def pin_cores(branch: Any, hub: subprocess.Popen[bytes], names: list[str]) -> None:
    """The officer's PC on core 0 (hub, Chromium), the rest of the branch on core 1."""
    officer_pc = [psutil.Process(hub.pid), *browser_pid()]
    branch_side = [psutil.Process(branch.procs[n].pid) for n in [*names, "server"]]
    for procs, core in ((officer_pc, 0), (branch_side, 1)):
        for proc in procs:
            for p in [proc, *proc.children(recursive=True)]:
                p.cpu_affinity([core])


def run(booths: int, replay: bool, seconds: float, switch_s: float, root: Path,
        pin: bool = False, officer: str = "browser", inspect: bool = False,
        record: bool = False) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from signaling.officers import add_officer_offline

    branch = Branch(root)
    try:
        branch.spawn("server", "server", "--data-dir", str(branch.data), "--port", str(branch.port))
        branch.wait(lambda: get_json(f"http://127.0.0.1:{branch.port}/healthz"), "the server")
        add_officer_offline(branch.data, OFFICER, PIN)
        hub_token = branch.token_file("hub", "hub-01")
        hub_flags = ["--synthetic-officer"] if officer == "synthetic" else []
        hub_flags += ["--inspect-video"] if inspect else []
        recordings = root / "recordings"
        branch.env["BILIK_HUB_RECORDING_DIR"] = str(recordings)  # the hub's only
        try:
            hub = branch.spawn("hub", "hub", "--server", branch.url, "--token-file",
                               str(hub_token), "--metrics-port", str(branch.hub_port),
                               *hub_flags)
        finally:
            del branch.env["BILIK_HUB_RECORDING_DIR"]
        branch.wait(lambda: (branch.health() or {}).get("signaling") == "connected", "the hub")
        extra: list[str] = []
        if replay:
            loop = root / "loop.ivf"
            subprocess.run(branch.command("booth", "make-replay", str(loop), "--fps", str(FPS)),
                           check=True, capture_output=True, timeout=START_S)
            extra = ["--replay", str(loop)]
        names = [f"booth-{i:02d}" for i in range(1, booths + 1)]
        stats_files = {}
        for name in names:
            token = branch.token_file("booth", name)
            stats_files[name] = root / f"{name}.json"
            branch.group.start(
                name,
                [sys.executable, "-m", "tests.officer.simbooth", "--server", branch.url,
                 "--token-file", str(token), "--stats", str(stats_files[name]), *extra,
                 *(["--consent"] if record else [])],
                cwd=REPO)

        def all_streaming() -> bool:
            found = (branch.health() or {}).get("booths", {})
            return all(found.get(n, {}).get("frames", 0) >= 2 * FPS for n in names)

        branch.wait(all_streaming, f"video from {booths} booth(s)")
        with sync_playwright() as pw:
            devices = fake_devices(root) if officer == "browser" else []
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + devices,
                                         headless=True)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                if officer != "browser":
                    # The page's media off: the hub is its own (synthetic) officer.
                    page.add_init_script("navigator.mediaDevices.getUserMedia = () => "
                                         "Promise.reject(new DOMException('bench', "
                                         "'NotAllowedError'));"
                                         "window.RTCPeerConnection = undefined;")
                page.goto(f"http://127.0.0.1:{branch.hub_port}/console/")
                page.fill("#officer", OFFICER)
                page.fill("#pin", PIN)
                page.click("#sign-in-button")
                page.wait_for_selector(".tile[data-booth]", timeout=START_S * 1000)
                if officer == "browser":
                    branch.wait(lambda: ((branch.health() or {}).get("officer_media", {})
                                         .get("camera")), "the console's camera at the hub")
                    page.add_script_tag(path=str(PROBE))
                page.keyboard.press("1")
                if pin:
                    pin_cores(branch, hub, names)
                time.sleep(2.0)  # warm-up: video flowing, first focus settled
                written0 = recorded_bytes(recordings)
                result = measure(branch, hub, names, stats_files, seconds, switch_s, page,
                                 browser_pid(), replay, booths)
                result["record"] = record
                if record:
                    files = sorted(recordings.glob("*.webm"))
                    result["recording"] = {
                        "files": len(files),
                        "written_kbit_s": kbit_s(recorded_bytes(recordings) - written0,
                                                 seconds)}
                return result
            finally:
                browser.close()
    finally:
        branch.stop()


def recorded_bytes(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.glob("*.webm")) if directory.is_dir() else 0


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
    console = get_json(f"http://127.0.0.1:{branch.hub_port}/console/api/state") or {}
    by_slot = {b["slot"]: b["booth"] for b in console.get("booths", [])}
    first = branch.health()
    assert first is not None
    switches_before = len(first.get("switch_ms", []))
    decoded0 = console_decoded(page, by_slot)
    cpu0, booth0, chrome0 = cpu([hub_ps]), cpu(booth_ps), cpu(chrome)
    wall0 = time.monotonic()
    rss_max = 0
    next_switch = wall0 + switch_s
    slot = 1
    presses: list[tuple[int, str]] = []  # (epoch ms of the key press, booth it focuses)
    while time.monotonic() - wall0 < seconds:
        rss_max = max(rss_max, hub_ps.memory_info().rss)
        if time.monotonic() >= next_switch and len(names) > 1:
            slot = slot % len(names) + 1
            presses.append((int(time.time() * 1000), by_slot.get(slot, "")))
            page.keyboard.press(str(slot))
            next_switch += switch_s
        time.sleep(0.2)
    wall = time.monotonic() - wall0
    cpu1, booth1, chrome1 = cpu([hub_ps]), cpu(booth_ps), cpu(chrome)
    decoded1 = console_decoded(page, by_slot)
    probe = page.evaluate("() => window.bilikProbe || null")
    last = branch.health(since_ms=first["now_ms"])
    assert last is not None
    span_s = (last["now_ms"] - first["now_ms"]) / 1000
    per_booth = {}
    rx_totals = {"rx_focused": [0, 0.0], "rx_waiting": [0, 0.0]}
    for name in names:
        a, b = first["booths"].get(name, {}), last["booths"].get(name, {})
        # A booth re-paired in the window starts its counters again: count from zero then,
        # and say so, rather than print a negative rate.
        repaired = b.get("frames", 0) < a.get("frames", 0)
        if repaired:
            a = {}
        entry: dict[str, Any] = {
            "repaired_in_window": repaired,
            "fps": round((b.get("frames", 0) - a.get("frames", 0)) / span_s, 2),
            "rx_kbit_s": kbit_s(b.get("rx_bytes", 0) - a.get("rx_bytes", 0), span_s),
            "p50_ms": b.get("p50_ms"),
            "p95_ms": b.get("p95_ms"),
            "p99_ms": b.get("p99_ms"),
            "unreadable_timecodes": b.get("unreadable", 0) - a.get("unreadable", 0),
        }
        for account in rx_totals:
            got = b.get(account, {}).get("bytes", 0) - a.get(account, {}).get("bytes", 0)
            over = b.get(account, {}).get("seconds", 0.0) - a.get(account, {}).get("seconds", 0.0)
            rx_totals[account][0] += got
            rx_totals[account][1] += over
            entry[f"{account}_kbit_s"] = kbit_s(got, over)
            entry[f"{account}_s"] = round(over, 1)
        per_booth[name] = entry
    returns = {}
    for name, path in stats_files.items():
        try:
            returns[name] = json.loads(path.read_text())
        except (OSError, ValueError):
            returns[name] = {}
    switch = [s["ms"] for s in last.get("switch_ms", [])[switches_before:]]
    video_switch = [s["ms"] for s in last.get("switch_ms", [])[switches_before:]
                    if s["kind"] == "video"]
    since = first["now_ms"]
    return_all: list[float] = []
    return_per_booth = {}
    for name, r in returns.items():
        window = [ms for at, ms in r.get("return_samples", []) if at >= since]
        return_all += window
        return_per_booth[name] = {"officer_frames": r.get("officer_frames"),
                                  "card_frames": r.get("card_frames"),
                                  "samples": len(window),
                                  "p50_ms": percentile(window, 50),
                                  "p95_ms": percentile(window, 95)}
    seen = booth_switch_ms(presses, {n: r.get("officer_arrivals", []) for n, r in returns.items()})
    since_epoch = first["now_ms"]
    in_page = [ms for seat in (probe or {}).get("seats", []) for at, ms in seat
               if at >= since_epoch]
    officer_ms = officer_latencies(returns, (probe or {}).get("camera", []), since)
    source = (last.get("officer_media") or {}).get("source")
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
            "loop_lag_ms": last.get("loop_lag_ms", {}).get("window"),
            "loop_lag_since_start_ms": {k: v for k, v in last.get("loop_lag_ms", {}).items()
                                        if k != "window"},
            "return_streams": last.get("return_streams"),
        },
        "per_booth": per_booth,
        "worst": {
            "fps": min(v["fps"] for v in per_booth.values()),
            "p50_ms": max(v["p50_ms"] or 0 for v in per_booth.values()),
            "p95_ms": max(v["p95_ms"] or 0 for v in per_booth.values()),
            "p99_ms": max(v["p99_ms"] or 0 for v in per_booth.values()),
        },
        "received_kbit_s": {
            "focused": kbit_s(*rx_totals["rx_focused"]),
            "waiting": kbit_s(*rx_totals["rx_waiting"]),
        },
        "return_video": {
            "per_booth": return_per_booth,
            "samples": len(return_all),
            "p50_ms": percentile(return_all, 50),
            "p95_ms": percentile(return_all, 95),
            "p99_ms": percentile(return_all, 99),
        },
        "focus_switch_ms": {
            "switches": len(presses),
            "hub_video_p50": percentile(video_switch, 50),
            "hub_video_max": max(video_switch) if video_switch else None,
            "hub_all_max": max(switch) if switch else None,
            "key_to_booth_p50": percentile(seen["ms"], 50),
            "key_to_booth_p95": percentile(seen["ms"], 95),
            "key_to_booth_max": max(seen["ms"]) if seen["ms"] else None,
            "key_to_booth_missed": seen["missed"],
        },
        "officer_source": source,
        "console_fps": {booth: round((n - decoded0.get(booth, 0)) / wall, 2)
                        for booth, n in sorted(decoded1.items())},
        "booth_to_console_ms": {"samples": len(in_page), "p50": percentile(in_page, 50),
                                "p95": percentile(in_page, 95)},
        "officer_to_booth_ms": {"samples": len(officer_ms), "p50": percentile(officer_ms, 50),
                                "p95": percentile(officer_ms, 95),
                                "camera_frames_seen": len((probe or {}).get("camera", [])),
                                "camera_probe": (probe or {}).get("cameraProbe")},
        "browser_cpu_cores": round((chrome1 - chrome0) / wall, 3),
        "booth_processes_cpu_cores": round((booth1 - booth0) / wall, 3),
        "machine": machine(),
    }


def console_decoded(page: Any, by_slot: dict[int, str]) -> dict[str, int]:
    """Frames the console has decoded so far, per booth (its seat's getStats)."""
    decoded: list[int] = page.evaluate(
        """async () => { const m = window.bilikMedia; if (!m) return [];
              return Promise.all(m.seats.map(async (s) => { let n = 0;
                (await s.receiver.getStats()).forEach((r) => {
                  if (r.type === 'inbound-rtp') n = r.framesDecoded || 0; });
                return n; })); }""")
    return {by_slot[n]: count for n, count in enumerate(decoded, 1) if n in by_slot}


def officer_latencies(returns: dict[str, Any], camera: list[list[int]],
                      since_ms: int) -> list[float]:
    """The officer's camera frame captured in the page to the same frame decoded at a booth.

    A booth records ``(decoded at, at - capture_time_ms(timecode, at))``: the timecode, the
    frame's position in the fake camera's loop, is that record modulo ``LOOP_MS``. It is
    matched with the page's own capture of that frame (the latest one at or before the
    decode), so the drift of the fake camera against the wall clock does not count.
    """
    captured: dict[int, list[int]] = {}
    for wall, timecode in camera:
        captured.setdefault(int(timecode), []).append(int(wall))
    found: list[float] = []
    for r in returns.values():
        for at, reading in r.get("return_samples", []):
            if at < since_ms:
                continue
            timecode = round(at - reading) % LOOP_MS
            walls = [w for w in captured.get(timecode, []) if w <= at]
            if walls and at - max(walls) < LOOP_MS / 2:
                found.append(float(at - max(walls)))
    return found


def kbit_s(count: float, seconds: float) -> float | None:
    return round(count * 8 / seconds / 1000, 1) if seconds > 0 else None


def booth_switch_ms(presses: list[tuple[int, str]],
                    arrivals: dict[str, list[int]]) -> dict[str, Any]:
    """Key press to the officer's first picture decoded at the booth it focuses.

    A press is matched with the first arrival of the officer's picture at that booth
    after the press and before the next press; a press with none is counted as missed.
    """
    found: list[float] = []
    missed = 0
    for i, (at, booth) in enumerate(presses):
        until = presses[i + 1][0] if i + 1 < len(presses) else None
        hits = [t for t in arrivals.get(booth, []) if t >= at and (until is None or t < until)]
        if hits:
            found.append(float(min(hits) - at))
        else:
            missed += 1
    return {"ms": found, "missed": missed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--booths", type=int, default=6, choices=range(1, 7), metavar="N")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--replay", action="store_true",
                      help="booths send a pre-encoded VP8 loop instead of encoding live")
    mode.add_argument("--both", action="store_true",
                      help="run live, then replayed; print both results")
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement (default 30)")
    parser.add_argument("--switch-s", type=float, default=3.0,
                        help="seconds between focus switches (default 3)")
    parser.add_argument("--keep-logs", type=Path, help="write the processes' logs here")
    parser.add_argument("--officer", choices=("browser", "synthetic"), default="browser",
                        help="the officer's media: the console's fake camera and microphone "
                             "(default) or the hub's synthetic officer")
    parser.add_argument("--inspect-video", action="store_true",
                        help="the hub decodes every booth to measure latency at the hub")
    parser.add_argument("--record", action="store_true",
                        help="the participants accept the recording: the hub records every "
                             "session while it is measured")
    parser.add_argument("--pin", action="store_true",
                        help="hub and browser on core 0, booths and server on core 1 (an "
                             "officer PC apart from the booths, on a 2-core machine)")
    args = parser.parse_args()
    if args.seconds <= 0 or args.switch_s <= 0:
        parser.error("--seconds and --switch-s must be positive")
    modes = [False, True] if args.both else [args.replay]
    results = {}
    for replay in modes:
        name = "replay" if replay else "live"
        if args.keep_logs:
            logs = args.keep_logs / name
            logs.mkdir(parents=True, exist_ok=True)
            results[name] = run(args.booths, replay, args.seconds, args.switch_s, logs,
                                args.pin, args.officer, args.inspect_video, args.record)
        else:
            with tempfile.TemporaryDirectory(prefix="bilik-bench-hub-") as tmp:
                results[name] = run(args.booths, replay, args.seconds, args.switch_s, Path(tmp),
                                    args.pin, args.officer, args.inspect_video, args.record)
    for result in results.values():
        result["pinned"] = args.pin
    print(json.dumps(results if args.both else next(iter(results.values())), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
