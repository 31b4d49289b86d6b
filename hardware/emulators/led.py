"""Emulator of an addressed RS-485 LED counter display: a pure frame parser keeping the
text shown, on a pty.

:class:`LedScreen` reads the bus like a real display: it hunts for the start byte, takes
frames for its own address, checks the checksum and ignores frames for other addresses.
A frame that fails any check is reported as a :class:`~hardware.errors.DisplayFrameError`
and changes nothing on screen.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

from hardware import limits
from hardware.displays.led import CMD_BRIGHTNESS, CMD_CLEAR, CMD_DISPLAY, LedFraming
from hardware.emulators.serialpty import PtyPort
from hardware.errors import DisplayFrameError


class _State(enum.Enum):
    HUNT = "hunt"  # waiting for a start byte
    BODY = "body"  # between start and end
    CHECKSUM = "checksum"  # the one byte after end


class LedScreen:
    def __init__(self, framing: LedFraming, address: int, *, codepage: str = "cp437") -> None:
        self.framing = framing
        self.address = address
        self.codepage = codepage
        self.text = " " * framing.width
        self.brightness = 4
        self.frames = 0  # valid frames for this address
        self.foreign_frames = 0  # valid frames for other addresses
        self.errors: list[DisplayFrameError] = []
        self._state = _State.HUNT
        self._body = bytearray()
        self._garbage = 0

    def feed(self, data: bytes) -> list[DisplayFrameError]:
        new: list[DisplayFrameError] = []
        for b in data:
            err = self._byte(b)
            if err is not None:
                self.errors.append(err)
                new.append(err)
        return new

    def _byte(self, b: int) -> DisplayFrameError | None:
        f = self.framing
        if self._state is _State.HUNT:
            if b == f.start:
                self._state, self._body = _State.BODY, bytearray()
                if self._garbage:
                    count, self._garbage = self._garbage, 0
                    return DisplayFrameError(f"LED bus: {count} stray byte(s) before a frame")
                return None
            self._garbage += 1
            if self._garbage >= limits.EMULATOR_MAX_GARBAGE_BYTES:
                self._garbage = 0
                return DisplayFrameError("LED bus: only garbage, no start byte")
            return None
        if self._state is _State.BODY:
            if b == f.start:  # a new frame began before this one ended: drop this one
                self._body = bytearray()
                return DisplayFrameError("LED frame cut short by a new start byte")
            self._body.append(b)
            if b == f.end:
                if f.checksum == "none":
                    return self._finish(None)
                self._state = _State.CHECKSUM
            elif len(self._body) > limits.LED_MAX_FRAME_BYTES:
                self._state = _State.HUNT
                return DisplayFrameError(
                    f"LED frame longer than {limits.LED_MAX_FRAME_BYTES} bytes without end byte"
                )
            return None
        return self._finish(b)

    def _finish(self, checksum: int | None) -> DisplayFrameError | None:
        self._state = _State.HUNT
        body = bytes(self._body)
        if checksum is not None:
            expected = self.framing.checksum_of(body)[0]
            if checksum != expected:
                return DisplayFrameError(
                    f"LED frame checksum 0x{checksum:02x}, expected 0x{expected:02x}"
                )
        n = self.framing.address_length
        payload = body[n:-1]
        try:
            address = self._address(body[:n])
        except ValueError as exc:
            return DisplayFrameError(f"LED frame address {body[:n]!r}: {exc}")
        if not payload:
            return DisplayFrameError("LED frame has no command")
        if address != self.address:
            self.foreign_frames += 1
            return None
        cmd, data = payload[0], payload[1:]
        if cmd == CMD_DISPLAY:
            if len(data) > self.framing.width:
                return DisplayFrameError(
                    f"LED text is {len(data)} cells, the display has {self.framing.width}"
                )
            self.text = data.decode(self.codepage, errors="replace").ljust(self.framing.width)
        elif cmd == CMD_CLEAR:
            self.text = " " * self.framing.width
        elif cmd == CMD_BRIGHTNESS and len(data) == 1 and ord("1") <= data[0] <= ord("4"):
            self.brightness = data[0] - ord("0")
        else:
            return DisplayFrameError(f"LED frame has unknown command {payload[:2]!r}")
        self.frames += 1
        return None

    def _address(self, raw: bytes) -> int:
        if self.framing.address_format == "byte":
            return raw[0]
        if not raw.isdigit():
            raise ValueError("not ASCII digits")
        return int(raw)


class LedEmulator:
    """A :class:`LedScreen` behind a pty; open :attr:`path` with pyserial to drive it."""

    def __init__(
        self,
        framing: LedFraming | None = None,
        address: int = 1,
        *,
        codepage: str = "cp437",
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.screen = LedScreen(framing or LedFraming(), address, codepage=codepage)
        self._changed = threading.Condition()
        self._on_change = on_change
        self.port = PtyPort(f"led-{address}", self._receive)
        self.path = self.port.path

    def _receive(self, data: bytes) -> None:
        with self._changed:
            before = self.screen.text
            self.screen.feed(data)
            after = self.screen.text
            self._changed.notify_all()
        if self._on_change is not None and after != before:
            self._on_change(after)

    def text(self) -> str:
        with self._changed:
            return self.screen.text

    def wait_for(self, predicate: Callable[[LedScreen], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.screen), timeout)

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> LedEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
