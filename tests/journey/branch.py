"""A branch office as real processes on loopback: server, two hubs, kiosk, display, booth.

Every agent runs as ``bilik ...`` in its own process, with ephemeral ports
(:class:`bilik.processes.BranchProcesses` gives the server's port, its data directory and
the process group); the devices the agents drive are emulators running in the test
process: the kiosk's and the booth's printers on ptys (PNG per printed page), the booth's
QR reader on a pty, and the booth's document camera as a directory of images that the
booth replays in name order, in a loop (blurry card first, then the card held still).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bilik.processes import BranchProcesses, ProcessGroup, free_port
from hardware.emulators.printer import PtyPrinterEmulator, start_pty_emulator
from hardware.emulators.scanner import ScannerEmulator
from signaling import tokens
from tests import helpers

T = TypeVar("T")

START_S = 120.0  # aiortc imports in six processes at once on a shared two-core machine
STEP_S = 60.0  # any one step of the journey, generously
POLL_S = 0.2
OFFICERS = {"o-01": "246801", "o-02": "135702"}
BLURRY_FRAMES = 12  # 1.2 s of a blurry card at the booth's 10 frames a second
STILL_FRAMES = 16  # then the card held still


def wait_for(check: Callable[[], T | None], what: str, timeout: float = STEP_S,
             group: ProcessGroup | None = None) -> T:
    """:func:`tests.helpers.wait_for`, stopping early when a process of ``group`` died."""
    return helpers.wait_for(check, what, timeout, interval=POLL_S,
                            dead=group.dead if group is not None else None)


def http_json(url: str, *, token: str | None = None, body: Any = None,
              method: str | None = None) -> tuple[int, Any]:
    """(status, JSON body), or (0, None) when nothing answers."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def http_bytes(url: str, *, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Branch(BranchProcesses):
    """One branch office; ``with Branch(root) as b: b.start()``; ``close()`` leaves nothing.

    Beyond :class:`BranchProcesses` (server, tokens, process group): two hubs, the kiosk,
    the display and a booth, and the emulators of their devices."""

    BOOTH = "booth-01"
    HUBS = ("hub-01", "hub-02")

    def __init__(self, root: Path) -> None:
        super().__init__(root, log_dir=root / "logs", env={
            "BILIK_SERVER_HEARTBEAT_S": "1.0",
            "BILIK_SERVER_HUB_FAILOVER_S": "3.0",
            "BILIK_BOOTH_GOODBYE_S": "600",  # the receipt screen stays while the test reads it
        })
        self.hub_ports = {hub: free_port() for hub in self.HUBS}
        self.kiosk_port = free_port()
        self.tv_port = free_port()
        self.screen_dir = root / "booth-screen"
        self.doc_camera_dir = root / "document-camera"
        self.kiosk_printer: PtyPrinterEmulator | None = None
        self.booth_printer: PtyPrinterEmulator | None = None
        self.reader: ScannerEmulator | None = None
        self._tokens: dict[str, str] = {}

    # -- set-up ---------------------------------------------------------------------------

    def token(self, device: str, role: str) -> str:
        if device not in self._tokens:
            secret = tokens.load_or_create_secret(self.data)
            self._tokens[device] = tokens.issue(secret, device, role, now=time.time(),
                                                ttl_s=3600)
        return self._tokens[device]

    def token_file(self, role: str, device: str, timeout: float = 0.0) -> Path:
        """A token for ``device``, issued in this process (a test may use the server's
        secret; :meth:`BranchProcesses.token_file` runs ``bilik server token``)."""
        path = self.root / "tokens" / f"{device}.token"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.token(device, role))
        path.chmod(0o600)
        return path

    @property
    def admin(self) -> str:
        return self.token("admin-test", "admin")

    def add_officers(self) -> None:
        """``bilik server officer add`` for each officer, as an installer would."""
        for officer, pin in OFFICERS.items():
            pin_file = self.root / f"{officer}.pin"
            pin_file.write_text(pin + "\n")
            subprocess.run(
                [sys.executable, "-m", "bilik.cli", "server", "officer", "add", officer,
                 "--pin-file", str(pin_file), "--data-dir", str(self.data)],
                check=True, capture_output=True, timeout=START_S, env=self.group.env)

    def arrange_document_camera(self) -> None:
        """A 1080p document camera: a blurry card, the card held still, then a page (the
        family card, the letter, the bank book all have a page's proportions) held still,
        replayed in name order and looped."""
        import cv2

        from bilik.documents import kind
        from hardware.quality.scenes import render

        self.doc_camera_dir.mkdir(parents=True, exist_ok=True)
        frames = {
            "a-blurred": render(kind("ktp"), "1080p", "blurred", 0, np.random.default_rng(1)),
            "b-card": render(kind("ktp"), "1080p", "sharp", 0, np.random.default_rng(2)),
            "c-page": render(kind("kk"), "1080p", "sharp", 0, np.random.default_rng(3)),
        }
        counts = {"a-blurred": BLURRY_FRAMES, "b-card": STILL_FRAMES, "c-page": STILL_FRAMES}
        for name, image in frames.items():
            first = self.doc_camera_dir / f"{name}-00.jpg"
            cv2.imwrite(str(first), image)
            for i in range(1, counts[name]):
                shutil.copy(first, self.doc_camera_dir / f"{name}-{i:02d}.jpg")

    def start(self) -> None:
        self.add_officers()
        self.arrange_document_camera()
        self.kiosk_printer = start_pty_emulator(self.root / "kiosk-printer")
        self.booth_printer = start_pty_emulator(self.root / "booth-printer")
        self.reader = ScannerEmulator()
        g = self.group
        g.bilik("server", "server", "--data-dir", str(self.data), "--port", str(self.port))
        for hub, port in self.hub_ports.items():
            g.bilik(hub, "hub", "--server", self.url, "--id", hub,
                    "--token-file", str(self.token_file("hub", hub)),
                    "--metrics-port", str(port))
        g.bilik("kiosk", "kiosk", "--server", self.url, "--id", "kiosk-01",
                "--token-file", str(self.token_file("kiosk", "kiosk-01")),
                "--printer", self.kiosk_printer.address,
                "--control-port", str(self.kiosk_port), "--no-stdin")
        g.bilik("display", "display", "--server", self.url, "--id", "display-01",
                "--token-file", str(self.token_file("display", "display-01")),
                "--tv-port", str(self.tv_port))
        g.bilik(self.BOOTH, "booth", "--server", self.url, "--id", self.BOOTH,
                "--token-file", str(self.token_file("booth", self.BOOTH)),
                "--flow", "ticket", "--printer", self.booth_printer.address,
                "--reader", self.reader.path, "--document-camera", str(self.doc_camera_dir),
                "--screen", str(self.screen_dir), "--data-dir", str(self.root / "booth-data"))
        wanted = {*self.HUBS, "kiosk-01", "display-01", self.BOOTH}
        wait_for(lambda: wanted <= self.connected(), "every device connected to the server",
                 START_S, g)
        for hub in self.HUBS:
            wait_for(self._free_check(hub), f"{hub}'s console", START_S, g)
        wait_for(lambda: self.kiosk_status().get("connected"), "the kiosk ready", START_S, g)
        wait_for(lambda: self.screens("welcome"), "the booth's welcome screen", START_S, g)

    # -- windows into the branch ------------------------------------------------------------

    def connected(self) -> set[str]:
        status, body = http_json(f"{self.http}/api/devices", token=self.admin)
        if status != 200:
            return set()
        return {d["id"] for d in body["devices"] if d.get("connected")}

    def hub_health(self, hub: str) -> dict[str, Any]:
        status, body = http_json(f"http://127.0.0.1:{self.hub_ports[hub]}/healthz")
        return body if status == 200 and isinstance(body, dict) else {}

    def video_frames(self, hub: str, booth: str) -> int:
        """Frames of the booth's camera the hub has decoded over WebRTC."""
        reading = self.hub_health(hub).get("booths", {}).get(booth, {})
        return int(reading.get("frames", 0) or 0)

    def hub_free(self, hub: str) -> int:
        status, body = http_json(f"http://127.0.0.1:{self.hub_ports[hub]}/console/api/state")
        return int(body.get("slots_free", 0)) if status == 200 else 0

    def _free_check(self, hub: str) -> Callable[[], bool]:
        return lambda: self.hub_free(hub) > 0

    def kiosk_status(self) -> dict[str, Any]:
        status, body = http_json(f"http://127.0.0.1:{self.kiosk_port}/status")
        return body if status == 200 and isinstance(body, dict) else {}

    def take_ticket(self, service: str = "jht") -> dict[str, Any]:
        status, body = http_json(f"http://127.0.0.1:{self.kiosk_port}/ticket",
                                 body={"service": service, "priority": "none"})
        assert status == 200, (status, body)
        return dict(body)

    def active_pairing(self, booth: str) -> dict[str, Any] | None:
        status, body = http_json(f"{self.http}/api/pairings", token=self.admin)
        if status != 200:
            return None
        for pairing in body["active"]:
            if pairing["booth"] == booth:
                return dict(pairing)
        return None

    def documents(self, ticket: str, hub: str) -> list[dict[str, Any]]:
        """The server's document store for a ticket, as the serving hub lists it."""
        status, body = http_json(f"{self.http}/api/documents?ticket={ticket}",
                                 token=self.token(hub, "hub"))
        assert status == 200, (status, body)
        return list(body["documents"])

    def download(self, document: str, hub: str) -> bytes:
        status, data = http_bytes(f"{self.http}/api/documents/{document}",
                                  token=self.token(hub, "hub"))
        assert status == 200, (status, data[:200])
        return data

    def audit(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        after = 0
        while True:
            status, body = http_json(f"{self.http}/api/audit?after={after}&limit=500",
                                     token=self.admin)
            assert status == 200, (status, body)
            page = body["entries"]
            entries.extend(page)
            if len(page) < 500:
                return entries
            after = page[-1]["seq"]

    def screens(self, screen: str) -> list[tuple[Path, str]]:
        """The booth's screen snapshots of one screen name, with the text drawn on each."""
        out = []
        for png in sorted(self.screen_dir.glob(f"booth-*-{screen}.png")):
            txt = png.with_suffix(".txt")
            if txt.exists():
                # Lines are wrapped to the screen: compare text with single spaces.
                out.append((png, " ".join(txt.read_text(encoding="utf-8").split())))
        return out

    def kill(self, name: str) -> None:
        """SIGKILL one agent: no goodbye, its sockets just vanish."""
        proc = self.group.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        del self.group.procs[name]

    def log(self, name: str) -> str:
        path = self.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- tear-down ----------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self.stop()
        finally:
            for device in (self.kiosk_printer, self.booth_printer, self.reader):
                if device is not None:
                    device.close()

    def __enter__(self) -> Branch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
