"""The booth's "raise a hand" push-button: a serial (USB CDC-ACM) button with a light.

Why serial and not a keyboard-type (USB HID) button: a HID button types a key into
whichever window has the focus, cannot say it is there or broken, and a booth cannot tell
it from a keyboard; reading it below the window system needs evdev and the ``input``
group. The button kiosk builders wire when it must be supervised is an arcade push-button
with a built-in lamp on a small USB microcontroller board (any Arduino- or Pico-class
board enumerates as a CDC-ACM serial port, ``/dev/ttyACM0``, with a stable
``/dev/serial/by-id`` name), which answers a self-test, reports press and release
whatever has the focus, and lights its lamp while the hand is up. Its firmware speaks
this line protocol (ASCII, lines end with CR LF, any speed: CDC-ACM ignores it):

    device -> host   P                 pressed
                     R                 released
                     OK <ident>        answer to "?" (model and firmware version)
                     E <reason>        a fault the firmware found (switch stuck closed...)
    host -> device   ?                 identify yourself (the self-test)
                     L1 / L0           lamp on / off

:class:`ButtonParser` is the pure frame parser; :class:`HandButton` the driver (pyserial
in a thread of its own, events handed to asyncio). The emulator is
:class:`hardware.emulators.button.ButtonEmulator` on a pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import serial

from hardware import limits
from hardware.errors import DeviceDisconnected, HardwareError
from hardware.serialport import open_port

log = logging.getLogger(__name__)


class ButtonError(HardwareError):
    """The hand button failed, did not answer, or sent something that is not its protocol."""


class ButtonEventKind(enum.StrEnum):
    PRESSED = "pressed"
    RELEASED = "released"
    IDENT = "ident"
    FAULT = "fault"


@dataclass(frozen=True)
class ButtonEvent:
    kind: ButtonEventKind
    detail: str = ""  # the ident, or the fault's reason


class ButtonParser:
    """Bytes in, events out; garbage is reported (``errors``) and skipped, never fatal."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.errors: list[str] = []

    def feed(self, data: bytes) -> list[ButtonEvent]:
        self._buffer += data
        events: list[ButtonEvent] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > limits.BUTTON_MAX_LINE:
                    self.errors.append(f"{len(self._buffer)} bytes without a line ending")
                    self._buffer.clear()
                return events
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[:end + 1]
            if raw:
                event = self._line(raw)
                if event is not None:
                    events.append(event)

    def _line(self, raw: bytes) -> ButtonEvent | None:
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            self.errors.append(f"not ASCII: {raw[:20]!r}")
            return None
        if not line.isprintable() or len(line) > limits.BUTTON_MAX_LINE:
            self.errors.append(f"not a button line: {raw[:20]!r}")
            return None
        if line == "P":
            return ButtonEvent(ButtonEventKind.PRESSED)
        if line == "R":
            return ButtonEvent(ButtonEventKind.RELEASED)
        head, _, rest = line.partition(" ")
        if head == "OK" and rest.strip():
            return ButtonEvent(ButtonEventKind.IDENT, rest.strip())
        if head == "E":
            return ButtonEvent(ButtonEventKind.FAULT, rest.strip() or "unnamed fault")
        self.errors.append(f"unknown button line {line[:20]!r}")
        return None


class HandButton:
    """The driver: ``await open()``, ``await identify()``, ``async for event in button``."""

    def __init__(self, device: str, *, baudrate: int = limits.SERIAL_DEFAULT_BAUD) -> None:
        self.device = device
        self.baudrate = baudrate
        self.parser = ButtonParser()
        self.presses = 0
        self.light: bool | None = None  # the lamp as last set
        self._port: serial.SerialBase | None = None
        self._events: asyncio.Queue[ButtonEvent | BaseException] = asyncio.Queue(
            maxsize=limits.BUTTON_QUEUE)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()

    async def open(self) -> HandButton:
        self._loop = asyncio.get_running_loop()
        self._port = await asyncio.to_thread(open_port, self.device, baudrate=self.baudrate)
        self._thread = threading.Thread(target=self._read, name="bilik-hand-button",
                                        daemon=True)
        self._thread.start()
        return self

    async def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, limits.BUTTON_CLOSE_TIMEOUT_S)
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    async def identify(self, timeout: float = limits.BUTTON_IDENT_TIMEOUT_S) -> str:
        """The self-test: the button answers "?" with its ident; ButtonError if it does not."""
        await self._send(b"?\r\n")
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = await self.next()
                    if event.kind is ButtonEventKind.IDENT:
                        return event.detail
                    if event.kind is ButtonEventKind.FAULT:
                        raise ButtonError(f"hand button {self.device}: {event.detail}")
        except TimeoutError:
            raise ButtonError(f"hand button {self.device} did not answer within "
                              f"{timeout:g} s (is it a Bilik hand button?)") from None

    async def set_light(self, on: bool) -> None:
        await self._send(b"L1\r\n" if on else b"L0\r\n")
        self.light = on

    async def next(self) -> ButtonEvent:
        item = await self._events.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def __aiter__(self) -> HandButton:
        return self

    async def __anext__(self) -> ButtonEvent:
        return await self.next()

    async def _send(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise ButtonError(f"hand button {self.device} is not open")

        def write() -> None:
            with self._write_lock:
                port.write(data)
                port.flush()

        try:
            await asyncio.to_thread(write)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"hand button {self.device}: {exc}") from None

    def _read(self) -> None:
        port = self._port
        while port is not None and not self._stop.is_set():
            try:
                data = port.read(64)
            except (serial.SerialException, OSError) as exc:
                self._hand(DeviceDisconnected(f"hand button {self.device} went away: {exc}"))
                return
            if not data:
                continue
            for event in self.parser.feed(data):
                if event.kind is ButtonEventKind.PRESSED:
                    self.presses += 1
                self._hand(event)
            if self.parser.errors:
                log.warning("hand button %s: %s", self.device, "; ".join(self.parser.errors))
                self.parser.errors.clear()

    def _hand(self, item: ButtonEvent | BaseException) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def put() -> None:
            if self._events.full():
                self._events.get_nowait()  # a participant hammering it: keep the newest
            self._events.put_nowait(item)

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(put)


async def self_test(device: str, progress: Callable[[int, int, str], None], *,
                    timeout: float, baudrate: int = limits.SERIAL_DEFAULT_BAUD
                    ) -> dict[str, Any]:
    """Identify the button, blink its lamp, and wait for a technician's press."""
    button = await HandButton(device, baudrate=baudrate).open()
    try:
        progress(1, 3, "identify (?)")
        ident = await button.identify()
        progress(2, 3, "lamp on, then off")
        await button.set_light(True)
        await asyncio.sleep(limits.BUTTON_BLINK_S)
        await button.set_light(False)
        progress(3, 3, f"press the button now (waiting up to {timeout:g} s)")
        try:
            async with asyncio.timeout(timeout):
                while (await button.next()).kind is not ButtonEventKind.PRESSED:
                    pass
        except TimeoutError:
            raise ButtonError(f"hand button {device}: no press within {timeout:g} s") from None
    finally:
        await button.close()
    return {"ident": ident, "lamp": "blinked", "pressed": True}
