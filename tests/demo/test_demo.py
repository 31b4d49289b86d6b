"""``bilik demo``: the whole branch as processes, and its pure parts.

The slow tests run the command as a user does and look from the outside: its output, the
overview page over HTTP, the processes and ports it leaves (none). The others test the
officer's planning, the progress summary, the document pictures and the overview's
choice of snapshot without starting a branch.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp.test_utils import TestClient, TestServer

from demo import overview
from demo.branch import BoothKit, draw_document_frames, show_documents
from demo.officers import Act, Case, Stage, documents_ready, plan
from demo.participants import _reference
from demo.progress import Progress, Visit, summary_line
from officer.checklists import documents_for
from tests.helpers import wait_for

RUN_S = 420.0  # generous: eleven processes start on a shared two-core machine
STOP_S = 60.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Demo:
    """``bilik demo`` as a child process; its stdout lines are read by a named thread."""

    def __init__(self, tmp: Path, *args: str, fresh: bool = True) -> None:
        self.data = tmp / "demo"
        self.stderr = open(tmp / "demo.stderr", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bilik.cli", "demo", "--headless",
             *(["--fresh"] if fresh else []), "--data-dir", str(self.data), *args],
            stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="demo-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, check: Callable[[str], bool], what: str, timeout: float = RUN_S) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None:
                raise AssertionError(f"demo ended before {what}: {self.tail()}")
            if line:
                self.lines.append(line)
                if check(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.tail()}")

    def finish(self, timeout: float = RUN_S) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        while True:
            line = self._queue.get_nowait() if not self._queue.empty() else None
            if line is None:
                break
            self.lines.append(line)
        return code

    def tail(self) -> str:
        err = (self.stderr.name and Path(self.stderr.name).read_text(errors="replace"))[-3000:]
        return "stdout: " + " | ".join(self.lines[-15:]) + "\nstderr: " + err

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def close(self) -> None:
        if self.proc.poll() is None:
            for child in self.descendants():
                child.kill()
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


@pytest.fixture
def demo_factory(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    demos: list[Demo] = []

    def start(*args: str, fresh: bool = True) -> Demo:
        demo = Demo(tmp_path, *args, fresh=fresh)
        demos.append(demo)
        return demo

    yield start
    for demo in demos:
        demo.close()


def http_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, "", b""


def until(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    return wait_for(check, what, timeout, interval=0.5)


def listening_ports(procs: list[psutil.Process]) -> set[int]:
    ports = set()
    for proc in procs:
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    ports.add(conn.laddr.port)
        except psutil.Error:
            continue
    return ports


def port_free(port: int) -> bool:
    """Nobody listens there: a server could start on it again (closed connections may still
    be in TIME_WAIT, which SO_REUSEADDR allows, as every server restart does)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


# -- the demo as a user runs it ------------------------------------------------------------


@pytest.mark.slow
def test_headless_serves_n_participants_shows_every_booth_screen_and_exits(
    demo_factory: Callable[..., Demo],
) -> None:
    demo = demo_factory("--participants", "2", "--json", "--seed", "7")
    ready = json.loads(demo.wait_line(lambda s: '"event": "ready"' in s, "the branch to open"))
    pids = list(ready["pids"].values())
    assert {"server", "hub-01", "hub-02", "kiosk", "display"} <= set(ready["pids"])
    assert {f"booth-{n:02d}" for n in range(1, 7)} <= set(ready["pids"])
    assert all(o["pin"].isdigit() and o["console"].endswith("/console/")
               for o in ready["officers"])

    # While it runs: the overview page serves every booth's screen as a PNG.
    page = http_get(ready["overview"])
    assert page[0] == 200 and b"Branch overview" in page[2]
    data = until(lambda: json.loads(http_get(ready["overview"] + "api/overview")[2] or b"{}")
                 .get("queue"), "the queue on the overview")
    assert set(data["booths"]) == {f"booth-{n:02d}" for n in range(1, 7)}
    # Headless: no console page connects media, so the overview says the officer is synthetic.
    def officer_media() -> list[str]:
        overview_data = json.loads(http_get(ready["overview"] + "api/overview")[2] or b"{}")
        return [o.get("officer_media") for o in overview_data["links"]["officers"]]

    assert until(lambda: officer_media() == ["synthetic"] * len(ready["officers"]),
                 "every hub's officer media on the overview")
    for n in range(1, 7):
        url = f"{ready['overview']}screens/booth-{n:02d}.png"

        def drawn(url: str = url) -> tuple[int, str, bytes] | None:
            reply = http_get(url)
            return reply if reply[0] == 200 else None

        _status, ctype, body = until(drawn, f"booth-{n:02d}'s screen")
        assert ctype == "image/png" and body.startswith(PNG_MAGIC), n
    assert http_get(ready["tv"])[0] == 200  # the queue display's TV page

    assert demo.finish() == 0, demo.tail()
    summary = json.loads(demo.lines[-1])
    assert summary["event"] == "summary"
    assert summary["served"] == 2 and summary["decisions"] == 2, summary
    assert summary["mean_wait_s"] is not None
    assert gone(pids)
    # Each served participant's receipt is a page of their booth's printer emulator.
    receipts = list((demo.data / "booths").glob("booth-*/printer/job-*.png"))
    assert len(receipts) == 2


@pytest.mark.slow
def test_the_demo_runs_again_on_the_same_data_directory(
    demo_factory: Callable[..., Demo],
) -> None:
    """The README's first command works every time, not only on a fresh machine."""
    pins = []
    for run in (1, 2):
        demo = demo_factory("--participants", "1", "--json", "--seed", str(run), "--hubs", "1",
                            fresh=run == 1)
        ready = json.loads(demo.wait_line(lambda s: '"event": "ready"' in s,
                                          f"run {run} to open"))
        pins.append([o["pin"] for o in ready["officers"]])
        assert demo.finish() == 0, demo.tail()
        summary = json.loads(demo.lines[-1])
        assert summary["served"] == 1 and summary["decisions"] == 1, (run, summary)
    assert pins[0] == pins[1]  # the officer added by the first run signs in again


@pytest.mark.slow
def test_ctrl_c_stops_every_process_and_frees_every_port(
    demo_factory: Callable[..., Demo],
) -> None:
    demo = demo_factory()
    demo.wait_line(lambda s: "Press Ctrl-C to stop" in s, "the URLs")
    text = "\n".join(demo.lines)
    assert "Officer console hub-01: http://127.0.0.1:" in text and "PIN" in text
    assert "Branch overview" in text and "Queue display" in text
    children = demo.descendants()
    assert len(children) >= 11  # server, two hubs, six booths, kiosk, display
    ports = listening_ports([psutil.Process(demo.proc.pid), *children])
    assert ports
    demo.proc.send_signal(signal.SIGINT)
    assert demo.finish(STOP_S) == 0, demo.tail()
    assert gone([c.pid for c in children])
    assert until(lambda: all(port_free(p) for p in ports), "the ports to be free", 10.0)
    assert json.loads(demo.lines[-1])["event"] == "summary"


@pytest.mark.slow
def test_a_process_that_dies_is_named_with_its_log_and_everything_stops(
    demo_factory: Callable[..., Demo],
) -> None:
    demo = demo_factory("--json")
    ready = json.loads(demo.wait_line(lambda s: '"event": "ready"' in s, "the branch to open"))
    others = [pid for name, pid in ready["pids"].items() if name != "booth-03"]
    os.kill(ready["pids"]["booth-03"], signal.SIGKILL)
    assert demo.finish(STOP_S) == 1
    err = Path(demo.stderr.name).read_text()
    assert "booth-03" in err and str(demo.data / "logs" / "booth-03.log") in err, err
    assert gone(others)


# -- pure parts -----------------------------------------------------------------------------


def _booth(ticket: str, state: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"booth": "booth-01", "pairing": f"pairing-{ticket}", "state": state,
            "service": "jht", "ticket": ticket, "documents": docs}


def test_documents_ready_needs_every_kind_and_the_newest_of_a_rescanned_one() -> None:
    kinds = documents_for("jht")
    docs = [{"id": f"d{i}", "kind": k, "status": "uploaded", "at": 1.0}
            for i, k in enumerate(kinds)]
    assert documents_ready(_booth("p", "receiving", docs), kinds)
    assert not documents_ready(_booth("p", "receiving", docs[:-1]), kinds)
    asked = [*docs[1:], {**docs[0], "status": "rescan_requested"}]
    assert not documents_ready(_booth("p", "receiving", asked), kinds)
    again = [*asked, {"id": "d9", "kind": kinds[0], "status": "uploaded", "at": 2.0}]
    assert documents_ready(_booth("p", "receiving", again), kinds)


def test_officer_finishes_a_ready_case_before_greeting_and_gives_up_on_missing_documents(
) -> None:
    kinds = documents_for("jht")
    docs = [{"id": f"d{i}", "kind": k, "status": "uploaded", "at": 1.0}
            for i, k in enumerate(kinds)]
    new = Case("p1", "booth-01", seen_at=100.0)
    scanning = Case("p2", "booth-02", seen_at=90.0, stage=Stage.SCANNING, greeted_at=95.0)
    state = {"booths": [_booth("p1", "receiving", []), _booth("p2", "receiving", docs)]}
    cases = {"p1": new, "p2": scanning}
    action = plan(cases, state, now=101.0)
    assert action is not None and (action.act, action.case) == (Act.REVIEW, scanning)
    scanning.stage = Stage.DECIDED
    action = plan(cases, state, now=101.0)
    assert action is not None and (action.act, action.case) == (Act.GREET, new)
    # No video yet and not long waiting: nothing to do for this booth.
    assert plan({"p1": new}, {"booths": [_booth("p1", "connecting", [])]}, 101.0) is None
    new.stage, new.greeted_at = Stage.SCANNING, 101.0
    late = plan({"p1": new}, {"booths": [_booth("p1", "receiving", [])]}, 101.0 + 1000)
    assert late is not None and late.act is Act.GIVE_UP


def test_summary_counts_served_decisions_and_mean_wait() -> None:
    progress = Progress()
    a = Visit("t1", "A001", "qr1", taken_at=10.0, called_at=40.0, claimed_at=45.0,
              served_at=90.0)
    b = Visit("t2", "A002", "qr2", taken_at=20.0, called_at=30.0, claimed_at=35.0,
              served_at=80.0)
    c = Visit("t3", "A003", "qr3", taken_at=25.0)
    for v in (a, b, c):
        progress.ticket_taken(v)
    progress.decided("approved")
    progress.decided("approved")
    summary = json.loads(summary_line(progress.summary(100.0)))
    assert summary == {"event": "summary", "served": 2, "decisions": 2,
                       "outcomes": {"approved": 2}, "rescans": 0, "tickets": 3,
                       "mean_wait_s": 20.0, "elapsed_s": 100.0}
    report = progress.report(100.0)
    assert (report["waiting"], report["in_session"]) == (1, 0)


def test_receipt_reference_is_read_from_the_printed_text() -> None:
    assert _reference("Bilik\nReferensi / Reference: KLM-20261122-A4D8F706\n") == \
        "KLM-20261122-A4D8F706"
    assert _reference("no reference here - at all") == ""


def test_blurry_participant_holds_the_card_out_of_focus_first(tmp_path: Path) -> None:
    from hardware.camera import load_image
    from hardware.emulators.camera import expand_images
    from hardware.quality import judge

    kit = BoothKit("booth-01", tmp_path, None, None, tmp_path / "docs",  # type: ignore[arg-type]
                   tmp_path / "screens")
    kit.documents.mkdir()
    frames_dir = draw_document_frames(tmp_path / "frames")
    show_documents(kit, frames_dir, blurry=True)
    frames = [Path(str(f)) for f in expand_images([kit.documents])]
    assert {load_image(f).shape for f in frames} == {(1080, 1920, 3)}  # a real document camera
    as_card = [judge(load_image(f), "ktp").passed for f in frames]
    first_pass = as_card.index(True)
    assert first_pass >= 5 and not any(as_card[:first_pass])
    # Then the card held still, then a page: each passes when judged as its own kind.
    pages = [f for f in frames if "page" in f.name]
    assert pages and all(judge(load_image(f), "kk").passed for f in pages[:2])
    assert all(as_card[first_pass: first_pass + 3])
    show_documents(kit, frames_dir, blurry=False)  # the next participant holds it steady
    again = [Path(str(f)) for f in expand_images([kit.documents])]
    assert all(judge(load_image(f), "ktp").passed for f in again[:3])


def _png(path: Path, complete: bool = True) -> None:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".png", np.zeros((9, 16, 3), np.uint8))
    assert ok
    path.write_bytes(bytes(data) if complete else bytes(data)[:-20])


def test_latest_complete_screen_is_chosen_and_old_ones_pruned(tmp_path: Path) -> None:
    for n in range(1, 12):
        _png(tmp_path / f"booth-{n:04d}-idle.png")
        (tmp_path / f"booth-{n:04d}-idle.txt").write_text(f"line {n}\n")
    _png(tmp_path / "booth-0012-claimed.png", complete=False)  # being written
    assert overview.latest_screen(tmp_path) == tmp_path / "booth-0011-idle.png"
    assert overview.screen_lines(overview.latest_screen(tmp_path)) == ["line 11"]
    assert overview.prune_screens(tmp_path, keep=4) == 8
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "booth-0009-idle.png", "booth-0010-idle.png", "booth-0011-idle.png",
        "booth-0012-claimed.png"]
    assert not (tmp_path / "booth-0001-idle.txt").exists()
    assert overview.latest_screen(tmp_path / "missing") is None


async def test_overview_serves_screens_and_the_data(tmp_path: Path) -> None:
    one = tmp_path / "booth-01"
    one.mkdir()
    _png(one / "booth-0001-idle.png")
    (one / "booth-0001-idle.txt").write_text("Selamat datang\nWelcome\n")
    two = tmp_path / "booth-02"
    two.mkdir()
    app = overview.make_app({"booth-01": one, "booth-02": two},
                            lambda: {"progress": {"served": 1}, "queue": None, "links": {}})
    async with TestClient(TestServer(app)) as client:
        reply = await client.get("/screens/booth-01.png")
        assert reply.status == 200 and reply.content_type == "image/png"
        assert (await reply.read()).startswith(PNG_MAGIC)
        assert (await client.get("/screens/booth-02.png")).status == 404  # nothing drawn yet
        assert (await client.get("/screens/booth-09.png")).status == 404
        data = await (await client.get("/api/overview")).json()
        assert data["booths"][0] == {"booth": "booth-01", "screen": "screens/booth-01.png",
                                     "lines": ["Selamat datang", "Welcome"]}
        assert data["progress"] == {"served": 1}
        page = await client.get("/")
        assert page.status == 200 and "api/overview" in await page.text()


def test_rate_and_participants_are_checked() -> None:
    result = subprocess.run([sys.executable, "-m", "bilik.cli", "demo", "--rate", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "--rate must be more than 0" in result.stderr
