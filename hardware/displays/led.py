"""The addressed RS-485 LED counter display, with configurable framing.

Several displays share one RS-485 pair; each listens for frames carrying its address.
Vendors agree on the shape and differ in the details, so the details are configuration
(:class:`LedFraming`, from ``[hardware] led_*``)::

    <start> <address> <command> <data...> <end> [<checksum>]

- ``start``/``end``: control bytes (default STX 0x02 / ETX 0x03);
- ``address``: two or three ASCII digits (``"01"``, ``"001"``) or one raw byte;
- ``command``: ``D`` show the text that follows, ``C`` clear, ``B`` + digit 1..4 brightness;
- ``checksum``: none, XOR or 8-bit sum of every byte after ``start`` up to and including
  ``end``. It is one raw byte and may equal any value, so parsers read exactly one byte
  after ``end``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import serial

from hardware import limits
from hardware.config import LED_ADDRESS_FORMATS, LED_CHECKSUMS, HardwareConfig
from hardware.displays.calls import Call, led_text
from hardware.displays.charset import check_codepage, encode, fit
from hardware.errors import DisplayError
from hardware.serialport import write_all

log = logging.getLogger(__name__)

CMD_DISPLAY = ord("D")
CMD_CLEAR = ord("C")
CMD_BRIGHTNESS = ord("B")


@dataclass(frozen=True)
class LedFraming:
    start: int = 0x02
    end: int = 0x03
    address_format: str = "ascii2"
    checksum: str = "xor"
    width: int = 8

    def __post_init__(self) -> None:
        if not (0 <= self.start < 0x20 and 0 <= self.end < 0x20) or self.start == self.end:
            raise DisplayError(
                f"LED framing: start 0x{self.start:02x} and end 0x{self.end:02x} must be two "
                "different control bytes (below 0x20) so that text never looks like them"
            )
        if self.address_format not in LED_ADDRESS_FORMATS:
            raise DisplayError(f"LED framing: address format {self.address_format!r} unknown")
        if self.checksum not in LED_CHECKSUMS:
            raise DisplayError(f"LED framing: checksum {self.checksum!r} unknown")
        if not 1 <= self.width <= limits.LED_MAX_WIDTH:
            raise DisplayError(f"LED framing: width {self.width} outside 1..{limits.LED_MAX_WIDTH}")

    @classmethod
    def from_config(cls, cfg: HardwareConfig) -> LedFraming:
        return cls(
            cfg.led_start, cfg.led_end, cfg.led_address_format, cfg.led_checksum, cfg.led_width
        )

    def address_bytes(self, address: int) -> bytes:
        if self.address_format == "ascii2":
            if not 0 <= address <= 99:
                raise DisplayError(f"LED address {address} does not fit two digits (0..99)")
            return b"%02d" % address
        if self.address_format == "ascii3":
            if not 0 <= address <= 255:
                raise DisplayError(f"LED address {address} outside 0..255")
            return b"%03d" % address
        if not 0 <= address <= 255:
            raise DisplayError(f"LED address {address} outside 0..255")
        return bytes([address])

    @property
    def address_length(self) -> int:
        return {"ascii2": 2, "ascii3": 3, "byte": 1}[self.address_format]

    def checksum_of(self, body: bytes) -> bytes:
        if self.checksum == "none":
            return b""
        if self.checksum == "xor":
            value = 0
            for b in body:
                value ^= b
            return bytes([value])
        return bytes([sum(body) & 0xFF])

    def frame(self, address: int, payload: bytes) -> bytes:
        body = self.address_bytes(address) + payload + bytes([self.end])
        return bytes([self.start]) + body + self.checksum_of(body)


class LedEncoder:
    """Pure text -> frames for one display address."""

    def __init__(self, framing: LedFraming, address: int, *, codepage: str = "cp437") -> None:
        self.framing = framing
        self.address = address
        self.codepage = check_codepage(codepage)
        framing.address_bytes(address)  # validate now, not at the first call

    def text(self, text: str) -> bytes:
        cells = encode(fit(text, self.framing.width), self.codepage)
        return self.framing.frame(self.address, bytes([CMD_DISPLAY]) + cells)

    def call(self, call: Call) -> bytes:
        return self.text(led_text(call, self.framing.width))

    def clear(self) -> bytes:
        return self.framing.frame(self.address, bytes([CMD_CLEAR]))

    def brightness(self, level: int) -> bytes:
        if not 1 <= level <= 4:
            raise DisplayError(f"LED brightness {level} outside 1..4")
        return self.framing.frame(self.address, bytes([CMD_BRIGHTNESS, ord("0") + level]))

    def test_patterns(self) -> list[str]:
        """Every segment lit, then the address, so a technician can tell displays apart."""
        return ["8" * self.framing.width, fit(f"ADR {self.address}", self.framing.width)]


class LedDisplay:
    """Driver: writes frames to an open RS-485 port (path/URL named in ``device``)."""

    def __init__(self, port: serial.SerialBase, encoder: LedEncoder, device: str) -> None:
        self.port = port
        self.encoder = encoder
        self.device = device

    def show_text(self, text: str) -> None:
        write_all(self.port, self.encoder.text(text), self.device)

    def show_call(self, call: Call) -> None:
        log.info("LED display call", extra={"fields": {"ticket": call.ticket, "booth": call.booth}})
        write_all(self.port, self.encoder.call(call), self.device)

    def clear(self) -> None:
        write_all(self.port, self.encoder.clear(), self.device)
