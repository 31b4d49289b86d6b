"""The first real call from the outside: server, hub and booths as separate processes.

Each part is started with the ``bilik`` command exactly as an installer would, on
loopback with ephemeral ports; the hub's ``/healthz`` is the only window into it.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bilik.processes import BranchProcesses, get_json
from tests import helpers

pytestmark = pytest.mark.slow

START_S = 60.0  # generous: six processes importing aiortc on a shared two-core machine
MEDIA_OFFLINE_S = 3.0  # the hub's offline timeout in these tests
RESUME_WINDOW_S = 120.0  # the server's: far longer than any wait here, so that only the
# hub's own detection can free a killed booth's slot
MIN_FPS = 12.0
MEASURE_S = 10.0


def wait_for(check: Callable[[], Any], what: str, timeout: float = START_S) -> Any:
    return helpers.wait_for(check, what, timeout)


class Branch(BranchProcesses):
    """Server, hub and booths as child processes; logs go to files under ``root``."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, env={
            "BILIK_SERVER_RESUME_WINDOW_S": str(RESUME_WINDOW_S),
            "BILIK_SERVER_HEARTBEAT_S": "1.0",
        })

    def start_server(self) -> None:
        self.spawn("server", "server", "--data-dir", str(self.data), "--port", str(self.port))
        wait_for(self.server_up, "the server")

    def start_hub(self) -> None:
        token = self.token_file("hub", "hub-01")
        self.spawn(
            "hub",
            "hub",
            "--server",
            self.url,
            "--token-file",
            str(token),
            "--id",
            "hub-01",
            "--metrics-port",
            str(self.hub_port),
            "--media-offline-s",
            str(MEDIA_OFFLINE_S),
            "--synthetic-officer",
            "--inspect-video",
        )
        wait_for(lambda: (self.health() or {}).get("signaling") == "connected", "the hub")

    def start_booth(self, device: str) -> None:
        token = self.token_file("booth", device)
        self.spawn(
            device, "booth", "--server", self.url, "--token-file", str(token), "--id", device,
            "--flow", "direct",
        )

    def booths(self) -> dict[str, dict[str, Any]]:
        return (self.health() or {}).get("booths", {})

    def streaming(self, *devices: str, frames: int = 15) -> bool:
        booths = self.booths()
        return all(booths.get(d, {}).get("frames", 0) >= frames for d in devices)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def log(self, name: str) -> list[dict[str, Any]]:
        lines = (self.root / f"{name}.log").read_text(errors="replace").splitlines()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


@pytest.fixture
def branch(tmp_path: Path) -> Iterator[Branch]:
    b = Branch(tmp_path)
    try:
        yield b
    finally:
        b.stop()


def rate(before: dict[str, Any], after: dict[str, Any], booth: str) -> float:
    frames = after["booths"][booth]["frames"] - before["booths"][booth]["frames"]
    return frames * 1000.0 / (after["now_ms"] - before["now_ms"])


def test_two_booths_stream_then_a_killed_booth_frees_its_slot(branch: Branch) -> None:
    branch.start_server()
    branch.start_hub()
    branch.start_booth("booth-01")
    branch.start_booth("booth-02")
    wait_for(lambda: branch.streaming("booth-01", "booth-02"), "video from both booths")

    # Both booths' video reaches the hub at >= 12 fps for 10 s (the hub's own clock).
    first = branch.health()
    assert first is not None
    last = wait_for(
        lambda: (h := branch.health()) and h["now_ms"] - first["now_ms"] >= MEASURE_S * 1000 and h,
        "ten seconds of video",
    )
    for booth in ("booth-01", "booth-02"):
        assert rate(first, last, booth) >= MIN_FPS, (booth, first, last)
        assert last["booths"][booth]["unreadable"] == 0
        assert last["booths"][booth]["negotiations"] == 1  # one call, never re-made
        assert last["booths"][booth]["p95_ms"] is not None

    # One booth dies without a word; the hub frees its slot on its own offline timeout
    # (the server would only release it after its two-minute resume window).
    branch.kill("booth-01")
    wait_for(lambda: "booth-01" not in branch.booths(), "the hub to free booth-01's slot")
    health = branch.health()
    assert health is not None and health["slots_free"] == 5
    freed = [e for e in branch.log("hub") if e.get("msg") == "slot freed"]
    assert [e["booth"] for e in freed] == ["booth-01"]
    assert freed[0]["reason"] in ("media_timeout", "connection_failed")

    # ... and the other booth keeps streaming.
    before = health["booths"]["booth-02"]["frames"]
    wait_for(lambda: branch.streaming("booth-02", frames=before + 45), "booth-02 to go on")


def test_server_restart_mid_call_reconnects_everyone_and_the_call_goes_on(
    branch: Branch,
) -> None:
    branch.start_server()
    branch.start_hub()
    branch.start_booth("booth-01")
    wait_for(lambda: branch.streaming("booth-01"), "video from booth-01")
    pairing = branch.booths()["booth-01"]["pairing"]

    branch.kill("server")
    wait_for(
        lambda: (branch.health() or {}).get("signaling") not in (None, "connected"),
        "the hub to notice the server is gone",
    )
    # Media does not go through the server: the call continues while it is down.
    during = branch.booths()["booth-01"]["frames"]
    wait_for(lambda: branch.streaming("booth-01", frames=during + 15), "video while server down")

    branch.start_server()
    wait_for(
        lambda: (branch.health() or {}).get("signaling") == "connected", "the hub to reconnect"
    )
    server = f"http://127.0.0.1:{branch.port}/healthz"
    wait_for(
        lambda: (get_json(server) or {}).get("devices") == {"hub": 1, "booth": 1},
        "both devices back on the server",
    )
    assert (get_json(server) or {}).get("pairings") == 1
    after = branch.booths()["booth-01"]
    assert after["pairing"] == pairing and after["negotiations"] == 1
    wait_for(
        lambda: branch.streaming("booth-01", frames=after["frames"] + 30), "video after the restart"
    )
    booth_log = branch.log("booth-01")
    assert sum(e.get("msg") == "connected to branch server" for e in booth_log) >= 2
