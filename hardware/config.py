"""Hardware configuration: which device plays which role, and how to talk to displays.

Loaded with :func:`bilik.config.load` from the ``[hardware]`` table of a TOML file
(or ``BILIK_HARDWARE_<KEY>`` environment variables). Each role is bound by a match
rule (see :mod:`hardware.registry` for the syntax), for example::

    [hardware]
    receipt_printer = "usb=0416:5011"
    queue_display = "usb=067b:2303,serial=A1B2C3,baud=9600"
    reader = "/dev/serial/by-id/usb-Newland_Scanner-if00"
    document_camera = "location=1-1.4"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bilik.config import load, setting
from hardware import limits

SECTION = "hardware"

DISPLAY_KINDS = ("pole-cd5220", "pole-epson", "led", "tv")
SCANNER_SUFFIXES = ("any", "cr", "lf", "crlf", "tab")
LED_ADDRESS_FORMATS = ("ascii2", "ascii3", "byte")
LED_CHECKSUMS = ("none", "xor", "sum8")


@dataclass(frozen=True)
class HardwareConfig:
    receipt_printer: str | None = setting(None, "match rule of the receipt printer")
    ticket_printer: str | None = setting(None, "match rule of the ticket printer (kiosk)")
    queue_display: str | None = setting(None, "match rule of the queue display (pole or LED)")
    reader: str | None = setting(None, "match rule of the serial ticket/QR scanner")
    camera: str | None = setting(None, "match rule of the participant camera (/dev/videoN)")
    document_camera: str | None = setting(None, "match rule of the document camera")
    hand_button: str | None = setting(
        None, "match rule of the booth's hand button (serial, hardware/button.py)")
    queue_display_kind: str = setting(
        "pole-cd5220", "command set of the queue display", choices=DISPLAY_KINDS
    )
    display_codepage: str = setting(
        "cp437", "8-bit code page the display's character table is set to"
    )
    led_address: int = setting(1, "bus address of the LED counter display", min=0, max=255)
    led_address_format: str = setting(
        "ascii2", "how the address is written in a frame", choices=LED_ADDRESS_FORMATS
    )
    led_start: int = setting(0x02, "byte that starts an LED frame (STX)", min=0, max=255)
    led_end: int = setting(0x03, "byte that ends an LED frame (ETX)", min=0, max=255)
    led_checksum: str = setting("xor", "checksum after the end byte", choices=LED_CHECKSUMS)
    led_width: int = setting(
        8, "characters the LED display shows on its line", min=1, max=limits.LED_MAX_WIDTH
    )
    scanner_suffix: str = setting(
        "any", "line ending the scanner appends to each code", choices=SCANNER_SUFFIXES
    )
    poll_interval_s: float = setting(
        limits.PORT_POLL_INTERVAL_S, "seconds between port listings (hot-plug)", min=0.1, max=60
    )


def load_config(path: Path | None = None) -> HardwareConfig:
    """Read the ``[hardware]`` table; raises :class:`bilik.errors.ConfigError` on bad values."""
    return load(HardwareConfig, SECTION, path=path)
