"""Soak the booth agent: a long call with synthetic media, watching memory and frames.

    .venv/bin/python bench/booth_soak.py [--minutes 30] [--sample-s 10]

The branch server and the officer hub run as processes (``bilik server``, ``bilik hub``),
the booth agent runs in this process (direct flow, test pattern camera, silent microphone,
screen rendered off-screen at its normal rate) so that its own memory is what is measured.
Every ``--sample-s`` the booth's RSS is sampled. The JSON printed at the end holds RSS at
start (after a two-minute warm-up, or a fifth of a short run), at the end, the growth
(target: under 20 MB over 30 minutes), the largest sample, frames received from the
officer and how many of them the screen never showed because a newer one replaced them
(the bounded hand-over: dropped, not queued), frames captured and dropped by the camera,
frames sent, and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.call import Branch, machine
from booth.agent import BoothAgent, CallState
from booth.config import BoothConfig

WARMUP_MAX_S = 120.0  # aiortc buffers and the allocator settle within about 90 s
TARGET_GROWTH_MB = 20.0


async def soak(branch: Branch, minutes: float, sample_s: float, root: Path) -> dict[str, Any]:
    token = branch.token_file("booth", "booth-01").read_text().strip()
    config = BoothConfig(server=branch.url, id="booth-01", flow="direct",
                         data_dir=root / "booth", screen="off")
    agent = BoothAgent(config, token)
    me = psutil.Process()
    duration = minutes * 60.0
    warmup = min(WARMUP_MAX_S, duration / 5)
    samples: list[tuple[float, float]] = []
    await agent.start()
    try:
        await agent.wait_connected(60)
        deadline = time.monotonic() + 60
        while agent.state is not CallState.IN_CALL:
            if time.monotonic() > deadline:
                raise SystemExit("bench/booth_soak.py: the call did not come up in 60 s")
            await asyncio.sleep(0.2)
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < duration:
            samples.append((round(elapsed, 1), me.memory_info().rss / 2**20))
            await asyncio.sleep(min(sample_s, max(0.1, duration - elapsed)))
        samples.append((round(time.monotonic() - t0, 1), me.memory_info().rss / 2**20))
        after_warmup = [rss for t, rss in samples if t >= warmup] or [samples[-1][1]]
        tee = agent.face.tee
        peer = agent.peer
        track = peer.track if peer is not None else None
        result = {
            "minutes": minutes,
            "sample_s": sample_s,
            "warmup_s": warmup,
            "rss_mb": {
                "start": round(after_warmup[0], 1),
                "end": round(after_warmup[-1], 1),
                "growth": round(after_warmup[-1] - after_warmup[0], 1),
                "max": round(max(after_warmup), 1),
                "target_growth_under": TARGET_GROWTH_MB,
            },
            "officer_frames": {
                "received": agent.incoming.video_frames,
                "dropped_before_shown": agent.incoming.dropped,
                "audio_frames": agent.incoming.audio_frames,
            },
            "camera_frames": {
                "captured": tee.frames if tee is not None else 0,
                "dropped": tee.dropped if tee is not None else 0,
                "sent": int(getattr(track, "frames_sent", 0)),
            },
            "screen_frames_drawn": agent.screen.frames_drawn,
            "call_state_end": agent.state.value,
            "calls_started": agent.call.calls_started,
            "rss_samples_mb": [[t, round(r, 1)] for t, r in samples],
            "machine": machine(),
        }
        return result
    finally:
        await agent.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample-s", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bilik-booth-soak-") as tmp:
        root = Path(tmp)
        branch = Branch(root)
        try:
            branch.spawn("server", "server", "--data-dir", str(branch.data),
                         "--port", str(branch.port))
            branch.wait(branch.server_up, "the server")
            hub_token = branch.token_file("hub", "hub-01")
            branch.spawn("hub", "hub", "--server", branch.url, "--token-file", str(hub_token),
                         "--metrics-port", str(branch.hub_port), "--synthetic-officer",
                         "--inspect-video")
            branch.wait(lambda: (branch.health() or {}).get("signaling") == "connected",
                        "the hub")
            result = asyncio.run(soak(branch, args.minutes, args.sample_s, root))
        finally:
            branch.stop()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
