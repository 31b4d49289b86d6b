"""The simulated branch: every process of it, their credentials and their emulated devices.

One :class:`~bilik.processes.ProcessGroup` holds the server, the officer hubs, the booths,
the ticket kiosk and the queue display (each ``bilik ...`` as its own process, logging to
``<data_dir>/logs/<name>.log``). The devices they talk to are emulators owned by this
process: a receipt printer and a ticket scanner on pseudo-terminals per booth, a document
camera per booth (a directory of corpus pictures the booth replays), and the kiosk's
ticket printer. :meth:`Branch.check` turns a child that stopped on its own into
:class:`~demo.errors.ProcessDied` naming its log.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bilik.agent.settings import DeviceSettings
from bilik.processes import ProcessGroup
from bilik.tls import client_context
from demo import limits
from demo.errors import DemoError, ProcessDied
from hardware.emulators.printer import PtyPrinterEmulator
from hardware.emulators.scanner import ScannerEmulator
from signaling import ca, tokens

log = logging.getLogger(__name__)

# Where the document camera's pictures are drawn (under the demo's data directory).
FRAMES_DIR = "document-frames"
BROWSER = Path("/usr/bin/chromium")
# The whole simulated branch runs on this machine: its calls stay on loopback.
DEMO_ICE_ADDRESSES = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Options:
    data_dir: Path = Path("var/demo")
    fresh: bool = False
    booths: int = limits.BOOTHS
    hubs: int = limits.HUBS
    port: int = 0
    overview_port: int = 0
    rate_per_min: float = limits.RATE_PER_MIN
    participants: int = 0  # 0: arrivals go on until Ctrl-C
    headless: bool = False
    seed: int | None = None
    json: bool = False
    corpus: Path | None = None  # the document camera's pictures; None: drawn per run


@dataclass
class BoothKit:
    """One booth's emulated devices, and where its pictures go."""

    id: str
    root: Path
    printer: PtyPrinterEmulator
    scanner: ScannerEmulator
    documents: Path  # the document camera: the booth replays the pictures in here
    screens: Path  # the booth writes a PNG (and a .txt of its lines) per screen change

    @property
    def label(self) -> str:
        return f"Bilik {int(self.id.rsplit('-', 1)[1])}"


@dataclass(frozen=True)
class Officer:
    id: str
    pin: str
    hub: str
    console: str  # http://127.0.0.1:PORT/console/


@dataclass
class Branch:
    options: Options
    group: ProcessGroup = field(init=False)
    booths: dict[str, BoothKit] = field(default_factory=dict)
    officers: list[Officer] = field(default_factory=list)
    kiosk_printer: PtyPrinterEmulator | None = None

    def __post_init__(self) -> None:
        root = self.options.data_dir
        self.root = root
        self.group = ProcessGroup(
            root / "logs", env={"BILIK_BOOTH_GOODBYE_S": str(limits.BOOTH_GOODBYE_S),
                                # the spoken calls' WAVs stay with the demo's other files
                                "BILIK_DISPLAY_SPEECH_CACHE": str(root / "display-speech"),
                                # Over TLS like a branch (docs/security.md), whatever the
                                # environment says.
                                **{f"BILIK_{role}_INSECURE_PLAINTEXT": "false" for role in (
                                    "SERVER", "BOOTH", "HUB", "KIOSK", "DISPLAY")}})
        self.port = self.options.port or free_port()
        self.ws_url = f"wss://127.0.0.1:{self.port}/ws"
        self.http = f"https://127.0.0.1:{self.port}"
        # The branch CA (made by prepare()); every part of the demo verifies the server by it.
        self.ca_files = ca.CaFiles.of(root / "server")
        self.ssl: ssl.SSLContext | None = None
        self.kiosk_url = f"http://127.0.0.1:{free_port()}"
        self.tv_url = f"http://127.0.0.1:{free_port()}/"
        self.replay = root / f"replay-{limits.VIDEO_FPS}fps.ivf"
        self.admin_token = ""
        self.watch_token = ""  # the demo's own display connection, to see the calls
        self.unwatched: set[str] = set()  # children whose exit is not a failure (the browser)
        self.frames = self.root / FRAMES_DIR  # the document camera's pictures (prepare())

    # -- set-up ---------------------------------------------------------------------------

    def make_room(self) -> None:
        """Wipe the data directory if asked (``--fresh``), and make sure it exists."""
        if self.options.fresh and self.root.exists():
            shutil.rmtree(self.root)
        self.group.log_dir.mkdir(parents=True, exist_ok=True)

    def prepare(self) -> None:
        """Directories, credentials and emulators; nothing is started yet."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.frames = self.options.corpus or draw_document_frames(self.root / FRAMES_DIR)
        for name in DOCUMENT_FRAMES:
            if not (self.frames / f"{name}.jpg").is_file():
                raise DemoError(f"the document camera's picture {name}.jpg is missing "
                                f"in {self.frames}")
        if not self.ca_files.exists():
            ca.init(self.ca_files, branch="demo", names=list(ca.DEFAULT_NAMES))
        self.ssl = client_context(DeviceSettings(ca_file=self.ca_files.ca_cert))
        secret = tokens.load_or_create_secret(self.root / "server")
        self.admin_token = tokens.issue(secret, "demo-admin", "admin", now=time.time(),
                                        ttl_s=7 * 86400)
        self.watch_token = tokens.issue(secret, "display-demo", "display", now=time.time(),
                                        ttl_s=7 * 86400)
        for n in range(1, self.options.hubs + 1):
            hub = f"hub-{n:02d}"
            console = f"http://127.0.0.1:{free_port()}/console/"
            officer = f"officer-{n:02d}"
            # An officer added by an earlier run on this data directory keeps its PIN: the
            # demo runs again on the same data (`--fresh` starts empty).
            pin = self._saved_pin(officer) or f"{secrets.randbelow(10**6):06d}"
            self.officers.append(Officer(officer, pin, hub, console))
        for n in range(1, self.options.booths + 1):
            booth = f"booth-{n:02d}"
            root = self.root / "booths" / booth
            screens = root / "screens"
            if screens.exists():
                shutil.rmtree(screens)  # last run's pictures would pass for this run's
            documents = root / "document-camera"
            documents.mkdir(parents=True, exist_ok=True)
            kit = BoothKit(booth, root, PtyPrinterEmulator(root / "printer"), ScannerEmulator(),
                           documents, screens)
            self.booths[booth] = kit
            show_documents(kit, self.frames, blurry=False)
        self.kiosk_printer = PtyPrinterEmulator(self.root / "kiosk" / "printer")

    def _pin_path(self, officer: str) -> Path:
        return self.root / "officers" / f"{officer}.pin"

    def _saved_pin(self, officer: str) -> str | None:
        """The PIN an earlier run stored this officer with, if any."""
        try:
            pin = self._pin_path(officer).read_text().strip()
        except OSError:
            return None
        return pin if pin.isdigit() and len(pin) == 6 else None

    def _token_file(self, role: str, device: str) -> Path:
        secret = tokens.load_or_create_secret(self.root / "server")
        path = self.root / "tokens" / f"{device}.token"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tokens.issue(secret, device, role, now=time.time(), ttl_s=7 * 86400))
        path.chmod(0o600)
        return path

    async def start(self, stop: asyncio.Event) -> None:
        """Start every process and wait until the branch is ready to take participants."""
        server_dir = str(self.root / "server")

        async def add_officers() -> None:
            # One after the other: each opens the database, and two creating its tables at
            # once collide. An officer is added once per data directory: its PIN file is
            # written (renamed into place) only once the server has stored it, so a run
            # stopped half-way adds it again next time.
            for officer in self.officers:
                if self._saved_pin(officer.id) == officer.pin:
                    continue
                pin = self._pin_path(officer.id)
                pending = pin.with_suffix(".pin.new")
                pending.parent.mkdir(parents=True, exist_ok=True)
                pending.write_text(officer.pin + "\n")
                pending.chmod(0o600)
                await self._step(f"add-{officer.id}", stop, "server", "officer", "add",
                                 officer.id, "--pin-file", str(pending), "--data-dir",
                                 server_dir)
                if stop.is_set():
                    return
                pending.replace(pin)

        from booth.replay import small_loop_path  # av and aiortc only once the demo runs

        steps = [add_officers()]
        if not (self.replay.is_file() and small_loop_path(self.replay).is_file()):
            steps.append(self._step("make-replay", stop, "booth", "make-replay",
                                    str(self.replay), "--fps", str(limits.VIDEO_FPS)))
        await asyncio.gather(*steps)
        self.group.bilik("server", "server", "--data-dir", server_dir, "--port", str(self.port))
        async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=limits.HTTP_TIMEOUT_S),
                connector=aiohttp.TCPConnector(ssl=self.ssl or True)) as http:
            await self._until(stop, "the branch server", http, self._server_up)
            self._start_devices()
            await self._until(stop, "the officer hubs, booths, kiosk and display", http,
                              self._devices_up)

    def _start_devices(self) -> None:
        for officer in self.officers:
            port = officer.console.split(":")[2].split("/")[0]
            self.group.bilik(officer.hub, "hub", "--server", self.ws_url, *self._ca, "--token-file",
                             str(self._token_file("hub", officer.hub)), "--id", officer.hub,
                             "--metrics-port", port, "--synthetic-officer",
                             "--ice-addresses", DEMO_ICE_ADDRESSES)
        assert self.kiosk_printer is not None
        self.group.bilik("kiosk", "kiosk", "--server", self.ws_url, *self._ca, "--token-file",
                         str(self._token_file("kiosk", "kiosk-01")), "--id", "kiosk-01",
                         "--printer", self.kiosk_printer.address, "--control-port",
                         self.kiosk_url.rsplit(":", 1)[1], "--no-stdin")
        self.group.bilik("display", "display", "--server", self.ws_url, *self._ca, "--token-file",
                         str(self._token_file("display", "display-01")), "--id", "display-01",
                         "--tv-port", self.tv_url.rsplit(":", 1)[1].rstrip("/"))
        for kit in self.booths.values():
            self.group.bilik(
                kit.id, "booth", "--server", self.ws_url, *self._ca, "--token-file",
                str(self._token_file("booth", kit.id)), "--id", kit.id, "--flow", "ticket",
                "--source", "replay", "--replay-file", str(self.replay),
                "--fps", str(limits.VIDEO_FPS), "--document-camera", str(kit.documents),
                "--printer", kit.printer.address, "--reader", kit.scanner.path,
                "--data-dir", str(kit.root / "state"), "--screen", str(kit.screens),
                "--ice-addresses", DEMO_ICE_ADDRESSES)

    @property
    def _ca(self) -> tuple[str, str]:
        return ("--ca-file", str(self.ca_files.ca_cert))

    async def _step(self, name: str, stop: asyncio.Event, *args: str) -> None:
        """Run one set-up command to its end; its failure names its log."""
        proc = self.group.bilik(name, *args)
        deadline = time.monotonic() + limits.SETUP_STEP_TIMEOUT_S
        while proc.poll() is None:
            if stop.is_set():
                return
            if time.monotonic() > deadline:
                raise DemoError(f"{name} did not finish in {limits.SETUP_STEP_TIMEOUT_S:g} s; "
                                f"its log: {self.group.log_path(name)}")
            await asyncio.sleep(0.1)
        if proc.returncode != 0:
            raise ProcessDied(name, proc.returncode, self.group.log_path(name))
        self.group.stop(name)  # forget it: it is done, not dead

    async def _until(self, stop: asyncio.Event, what: str, http: aiohttp.ClientSession,
                     ready: Any) -> None:
        deadline = time.monotonic() + limits.START_TIMEOUT_S
        while not stop.is_set():
            self.check()
            if await ready(http):
                return
            if time.monotonic() > deadline:
                raise DemoError(f"{what} did not start within {limits.START_TIMEOUT_S:g} s; "
                                f"logs in {self.group.log_dir}")
            await asyncio.sleep(limits.POLL_S)

    async def _server_up(self, http: aiohttp.ClientSession) -> bool:
        return await get_json(http, self.http + "/healthz") is not None

    async def _devices_up(self, http: aiohttp.ClientSession) -> bool:
        devices = await get_json(http, self.http + "/api/devices", token=self.admin_token)
        connected = {d["id"] for d in (devices or {}).get("devices", []) if d.get("connected")}
        wanted = {o.hub for o in self.officers} | set(self.booths) | {"kiosk-01", "display-01"}
        if not wanted <= connected:
            return False
        for officer in self.officers:
            if await get_json(http, officer.console + "api/state") is None:
                return False
        kiosk = await get_json(http, self.kiosk_url + "/status")
        return bool(kiosk and kiosk.get("connected")) and await get_ok(http, self.tv_url)

    # -- running ----------------------------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`ProcessDied` for the first child that stopped on its own."""
        for name, code in self.group.dead().items():
            if name not in self.unwatched:
                raise ProcessDied(name, code, self.group.log_path(name))

    def open_browser(self, *urls: str) -> bool:
        """Open ``urls`` in Chromium when there is a display. The console on this machine
        reaches its hub on loopback (the demo's ICE addresses), which Chromium allows only
        with --allow-loopback-in-peer-connection."""
        if not BROWSER.exists():
            return False
        import os

        if not os.environ.get("DISPLAY"):
            return False
        self.unwatched.add("browser")
        self.group.start("browser", [str(BROWSER), "--new-window",
                                     "--allow-loopback-in-peer-connection", *urls])
        return True

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.group.procs.items()}

    def close(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after the grace), then the emulators."""
        self.group.close()
        for kit in self.booths.values():
            kit.printer.close()
            kit.scanner.close()
        if self.kiosk_printer is not None:
            self.kiosk_printer.close()


# The pictures under the document camera (1920x1080, as a real one gives): the card held
# out of focus, the card held still, and a page (the family card; the letter and the bank
# book have a page's proportions too). Which kind, size, case and seed each is drawn from.
DOCUMENT_FRAMES = {
    "blurred": ("ktp", "blurred", 1),
    "card": ("ktp", "sharp", 2),
    "page": ("kk", "sharp", 3),
}


def draw_document_frames(directory: Path) -> Path:
    """Draw :data:`DOCUMENT_FRAMES` into ``directory`` (once: kept between runs)."""
    import cv2
    import numpy as np

    from bilik.documents import kind
    from hardware.quality.scenes import render

    directory.mkdir(parents=True, exist_ok=True)
    for name, (k, case, seed) in DOCUMENT_FRAMES.items():
        path = directory / f"{name}.jpg"
        if not path.is_file():
            image = render(kind(k), "1080p", case, 0, np.random.default_rng(seed))
            if not cv2.imwrite(str(path), image):
                raise DemoError(f"could not write {path}")
    return directory


def show_documents(kit: BoothKit, frames: Path, *, blurry: bool) -> None:
    """Put the pictures the participant will hold under the booth's document camera.

    The booth reads the directory each time it starts scanning and replays its pictures
    in name order, one a frame, looping. A blurry participant first holds the card out of
    focus (the quality gate refuses those frames and says so on the screen), then steady;
    then the card and a page are held still in turn, for the booth asks for the claim's
    cards and pages one at a time, each judged as its own kind.
    """
    for old in kit.documents.iterdir():
        old.unlink()
    order: list[tuple[str, int]] = [("card", limits.STILL_FRAMES), ("page", limits.STILL_FRAMES)]
    if blurry:
        order.insert(0, ("blurred", limits.BLURRY_FRAMES))
    for step, (name, count) in enumerate(order):
        source = (frames / f"{name}.jpg").resolve()
        for i in range(count):
            (kit.documents / f"{step}-{name}-{i:02d}.jpg").symlink_to(source)


async def get_json(http: aiohttp.ClientSession, url: str, *, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with http.get(url, headers=headers) as reply:
            if reply.status != 200:
                return None
            return await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def get_ok(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url) as reply:
            return reply.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False
