"""The queue display agent (``bilik display``): shows who is called to which booth.

It connects to the branch server as role ``display``, keeps the current calls from
``Called`` / ``Cleared`` in a :class:`~frontdesk.calls_board.CallsBoard` (newest first, a
recall goes back to the top, a clear removes it) and drives any of:

- a 2x20 pole display (CD5220 or Epson command set) on a serial port;
- an addressed RS-485 LED counter display (framing from the ``[hardware]`` section);
- the TV page (:func:`hardware.displays.tv.make_tv_app`) served on a local HTTP port,
  which also speaks each call aloud (:mod:`frontdesk.announcer`, ``speak``, ``volume``).

While the server is unreachable the outputs say so: the pole shows the offline line,
the LED dashes, and the TV page its offline band (its feed socket is dropped and
refused, so the page shows "Reconnecting..." and retries by itself).
One renderer task writes every change, in order, coalescing bursts; a serial output
that fails is reported (``Status`` health) and reopened with backoff. ``bilik display`` runs it
(:mod:`frontdesk.queue_display_cli`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import serial
from aiohttp import web

from bilik import __version__, tls
from bilik import config as cfg
from bilik.agent.settings import DeviceSettings
from bilik.backoff import Backoff
from bilik.devicehealth import DeviceHealth
from bilik.tasks import TaskSet
from frontdesk import limits
from frontdesk.announcer import Announcer
from frontdesk.calls_board import CallsBoard, booth_short, led_line, pole_lines, tv_calls
from hardware.config import HardwareConfig
from hardware.devicekeeper import DeviceKeeper
from hardware.displays.led import LedDisplay, LedEncoder, LedFraming
from hardware.displays.pole import PoleCommandSet, PoleDisplay, PoleEncoder
from hardware.displays.tv import TvFeed, make_tv_app
from hardware.errors import HardwareError
from hardware.serialport import open_port
from hardware.speech import Announcements, EspeakVoice
from signaling import protocol as p
from signaling.client import ClientError, ClientState, SignalingClient

log = logging.getLogger(__name__)

SECTION = "display"
POLE_KINDS = tuple(k.value for k in PoleCommandSet)


@dataclass(frozen=True)
class DisplayConfig(DeviceSettings):
    pole: str = cfg.setting("", "Pole display serial port (path or pyserial URL); empty: none")
    pole_kind: str = cfg.setting("pole-cd5220", "Pole display command set", choices=POLE_KINDS)
    pole_baud: int = cfg.setting(9600, "Pole display line speed", min=1200, max=115200)
    led: str = cfg.setting(
        "", "RS-485 LED display port (path or pyserial URL); framing in [hardware]; empty: none"
    )
    led_baud: int = cfg.setting(9600, "LED display line speed", min=1200, max=115200)
    tv: bool = cfg.setting(True, "Serve the TV page (open http://HOST:PORT/ on the TV)")
    tv_host: str = cfg.setting("127.0.0.1", "Address the TV page is served on")
    tv_port: int = cfg.setting(8790, "Port the TV page is served on; 0: any free port",
                               min=0, max=65535)
    call_max_age_s: float = cfg.setting(
        300.0, "A call leaves the display after this long, even if no clear came",
        min=10.0, max=7200.0,
    )
    speak: bool = cfg.setting(True, "Speak each call aloud on the TV page (chime + Indonesian)")
    volume: float = cfg.setting(0.8, "Loudness of the spoken calls on the TV, 0..1",
                                min=0.0, max=1.0)
    speech_voice: str = cfg.setting("id", "espeak-ng voice of the spoken calls")
    speech_wpm: int = cfg.setting(140, "Speed of the spoken calls, words a minute",
                                  min=80, max=260)
    speech_cache: Path | None = cfg.setting(
        None, "Where the spoken calls are kept as WAV files; unset: ~/.cache/bilik/speech")


def speech_cache_dir(config: DisplayConfig) -> Path:
    if config.speech_cache is not None:
        return config.speech_cache
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bilik" / "speech"


@dataclass(frozen=True)
class View:
    """What every output shows: the calls (newest first) and whether the server is reachable."""

    online: bool
    calls: tuple[Any, ...]


class SerialOutput:
    """A pole or LED display on a serial port: opened lazily, reopened with backoff on failure
    (the backoff and health are a :class:`hardware.devicekeeper.DeviceKeeper`)."""

    def __init__(self, name: str, device: str, baud: int,
                 make: Callable[[serial.SerialBase], Any],
                 show: Callable[[Any, View], None], clock: Callable[[], float]) -> None:
        self.name = name
        self.device = device
        self.baud = baud
        self._make = make
        self._show = show
        self._port: serial.SerialBase | None = None
        self._driver: Any = None
        self.keeper = DeviceKeeper(
            name, Backoff(limits.DEVICE_RETRY_MIN_S, limits.DEVICE_RETRY_MAX_S, jitter=0.0),
            clock=clock, health=DeviceHealth.OK)
        self.shown: View | None = None

    @property
    def health(self) -> DeviceHealth:
        return self.keeper.health

    @property
    def detail(self) -> str:
        return self.keeper.detail

    def render(self, view: View) -> None:
        """Runs in a worker thread (blocking serial writes)."""
        if self._driver is None:
            if not self.keeper.due():
                return
            try:
                self._port = open_port(self.device, baudrate=self.baud)
                self._driver = self._make(self._port)
            except HardwareError as exc:
                self._failed(exc)
                return
        try:
            self._show(self._driver, view)
        except (HardwareError, serial.SerialException, OSError) as exc:
            self._failed(exc)
            return
        self.shown = view
        self.keeper.ok()

    def _failed(self, exc: BaseException) -> None:
        if self.keeper.health is DeviceHealth.OK:
            log.warning("%s display failed: %s", self.name, exc)
        self.keeper.failed(f"{self.name}: {exc}")
        self.shown = None
        self.close()

    def close(self) -> None:
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
        self._port = self._driver = None


def _pole_show(driver: PoleDisplay, view: View) -> None:
    driver.show_lines(*pole_lines(view.calls, view.online, driver.encoder.columns))


def _led_show(driver: LedDisplay, view: View) -> None:
    line = led_line(view.calls, view.online, driver.encoder.framing.width)
    if line is None:
        driver.clear()
    else:
        driver.show_text(line)


class DisplayAgent:
    """The display agent: one signaling client, a calls board, and its outputs."""

    def __init__(
        self,
        config: DisplayConfig,
        token: str,
        *,
        hardware: HardwareConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.hardware = hardware or HardwareConfig()
        self.clock = clock
        self.board = CallsBoard(max_age_s=config.call_max_age_s)
        self.online = False
        self.client = SignalingClient(
            config.server, token, on_message=self._on_message, on_state=self._on_state,
            software=f"bilik-display {__version__}", device_id=config.id,
            role=p.Role.DISPLAY,
            ssl_context=tls.client_context(config),
        )
        self.outputs: list[SerialOutput] = []
        if config.pole:
            encoder = PoleEncoder(PoleCommandSet(config.pole_kind),
                                  codepage=self.hardware.display_codepage)

            def make_pole(port: serial.SerialBase) -> PoleDisplay:
                pole = PoleDisplay(port, encoder, config.pole)
                pole.reset()
                return pole

            self.outputs.append(SerialOutput("pole", config.pole, config.pole_baud, make_pole,
                                             _pole_show, clock))
        if config.led:
            led = LedEncoder(LedFraming.from_config(self.hardware), self.hardware.led_address,
                             codepage=self.hardware.display_codepage)
            self.outputs.append(SerialOutput(
                "led", config.led, config.led_baud,
                lambda port: LedDisplay(port, led, config.led), _led_show, clock))
        self.feed: TvFeed | None = (TvFeed(speak=config.speak, volume=config.volume)
                                    if config.tv else None)
        self.announcer: Announcer | None = None
        if self.feed is not None and config.speak:
            voice = EspeakVoice(config.speech_voice, words_per_minute=config.speech_wpm)
            self.announcer = Announcer(self.feed,
                                       Announcements(speech_cache_dir(config), voice))
        self.tv_url: str | None = None
        self._tv_sockets: set[asyncio.BaseTransport] = set()
        self._runner: web.AppRunner | None = None
        self._dirty = asyncio.Event()
        self._rendered = asyncio.Event()
        self._tasks = TaskSet()
        self._reported: dict[str, str] | None = None

    # -- lifetime ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self.feed is not None:
            await self._start_tv(self.feed)
        if self.announcer is not None:
            await self.announcer.check()
            self._spawn(self.announcer.run(), "display-announcer")
        self._spawn(self._render_loop(), "display-render")
        self._spawn(self._expire_loop(), "display-expire")
        self._dirty.set()
        await self.client.start()

    async def wait_connected(self, timeout: float) -> str:
        """Wait for the branch server's welcome; this display's device id (the client
        refuses a token of another role or naming another device)."""
        welcome = await self.client.wait_connected(timeout)
        return welcome.device_id

    async def stop(self) -> None:
        await self.client.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._tasks.cancel_all()
        for output in self.outputs:
            await asyncio.to_thread(output.close)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.spawn(coro, name)

    # -- server events ----------------------------------------------------------------------

    async def _on_message(self, msg: p.Message) -> None:
        try:
            changed = self.board.apply(msg, self.clock())
        except ValueError as exc:
            log.warning("ignoring a call the display cannot show: %s", exc)
            return
        if isinstance(msg, p.Called) and self.announcer is not None:
            self.announcer.called(msg.number, booth_short(msg.label or msg.booth),
                                  recall=msg.attempt > 0)
        if changed:
            log.info("display: %s", msg.TYPE, extra={"fields": {
                "number": getattr(msg, "number", ""), "booth": getattr(msg, "booth", "")}})
            self._dirty.set()

    def _on_state(self, state: ClientState) -> None:
        online = state is ClientState.CONNECTED
        if online:
            self._reported = None
            self._spawn(self._report(), "display-report")
        if online != self.online:
            self.online = online
            log.info("display %s", "online" if online else "offline: server unreachable")
            if not online:
                self._drop_tv_sockets()
            self._dirty.set()

    # -- rendering --------------------------------------------------------------------------

    def view(self) -> View:
        return View(self.online, self.board.calls)

    async def _render_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            view = self.view()
            if self.feed is not None:
                self.feed.publish(tv_calls(view.calls))
            for output in self.outputs:
                await asyncio.to_thread(output.render, view)
            await self._report()
            self._rendered.set()

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(limits.EXPIRE_CHECK_S)
            if self.board.expire(self.clock()):
                self._dirty.set()
            elif any(o.health is not DeviceHealth.OK for o in self.outputs):
                self._dirty.set()  # a failed output gets its retry

    async def rendered(self, timeout: float) -> View:
        """Wait until the current state is on every output (for tests and the demo)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._dirty.is_set() or not self._rendered.is_set():
            self._rendered.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("display not rendered in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rendered.wait(), remaining)
        return self.view()

    async def _report(self) -> None:
        health: dict[str, str] = {o.name: o.health for o in self.outputs}
        if self.feed is not None:
            health["tv"] = DeviceHealth.OK
        if self.announcer is not None:
            health["speech"] = self.announcer.health
        if self._reported == health or not self.client.connected:
            return
        details = [o.detail for o in self.outputs] + [
            self.announcer.detail if self.announcer is not None else ""]
        detail = "; ".join(d for d in details if d)
        state = "ready" if all(v == DeviceHealth.OK for v in health.values()) else "fault"
        try:
            await self.client.request(p.Status(state=state, health=health, detail=detail[:500]),
                                      timeout=limits.REPORT_TIMEOUT_S)
        except ClientError as exc:
            log.info("health report not delivered: %s", exc)
            return
        self._reported = health

    # -- the TV page ------------------------------------------------------------------------

    async def _start_tv(self, feed: TvFeed) -> None:
        app = make_tv_app(feed, self.announcer.sounds if self.announcer is not None else None)
        app.middlewares.append(self._tv_gate)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.tv_host, self.config.tv_port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.tv_url = f"http://{self.config.tv_host}:{port}/"
        log.info("TV page on %s", self.tv_url)

    @web.middleware
    async def _tv_gate(self, request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
        """The feed socket exists only while the server is reachable (see the module doc)."""
        if request.path != "/ws":
            return await handler(request)
        if not self.online:
            raise web.HTTPServiceUnavailable(text="queue server unreachable")
        transport = request.transport
        if transport is not None:
            self._tv_sockets.add(transport)
        try:
            return await handler(request)
        finally:
            if transport is not None:
                self._tv_sockets.discard(transport)

    def _drop_tv_sockets(self) -> None:
        # Dropping the connection is what makes the page show its offline band; the page
        # then retries with backoff and is refused (503) until the server is back.
        for transport in list(self._tv_sockets):
            transport.close()
