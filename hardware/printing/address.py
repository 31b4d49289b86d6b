"""Printer addresses: one string in configuration says how to reach a printer.

Accepted forms (see docs/printing.md):

- ``serial:/dev/ttyUSB0?baudrate=19200`` a serial port (options: baudrate, rtscts, xonxoff);
- ``socket://127.0.0.1:9100``, ``loop://``, ``rfc2217://...`` any pyserial URL, as is;
- ``tcp:HOST`` or ``tcp:HOST:PORT`` a network printer's raw port (default 9100);
- ``file:/dev/usb/lp0`` a device file (USB printer class, parallel port, a pseudo-terminal).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from hardware.errors import PrinterAddressError
from hardware.printing.limits import DEFAULT_BAUDRATE, TCP_DEFAULT_PORT

FORMS = (
    "serial:/dev/ttyUSB0?baudrate=19200, a pyserial URL such as socket://host:9100 or loop://, "
    "tcp:HOST[:PORT], file:/dev/usb/lp0"
)
_SERIAL_OPTIONS = ("baudrate", "rtscts", "xonxoff")
_PYSERIAL_URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
_TCP = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(?::(?P<port>\d+))?\Z")


class AddressKind(enum.Enum):
    SERIAL = "serial"  # a serial port path or a pyserial URL, opened through pyserial
    TCP = "tcp"  # a raw TCP socket to a network printer
    FILE = "file"  # a character device opened with os.open


@dataclass(frozen=True)
class PrinterAddress:
    kind: AddressKind
    target: str  # port path, pyserial URL, host name or device path
    port: int = TCP_DEFAULT_PORT
    baudrate: int = DEFAULT_BAUDRATE
    rtscts: bool = False
    xonxoff: bool = False

    def __str__(self) -> str:
        if self.kind is AddressKind.TCP:
            host = f"[{self.target}]" if ":" in self.target else self.target
            return f"tcp:{host}:{self.port}"
        if self.kind is AddressKind.FILE:
            return f"file:{self.target}"
        if _PYSERIAL_URL.match(self.target):
            return self.target
        return f"serial:{self.target}?baudrate={self.baudrate}"


def parse_address(text: str) -> PrinterAddress:
    """Parse a printer address; raises :class:`PrinterAddressError` naming what is wrong."""
    raw = text.strip()
    if not raw:
        raise PrinterAddressError(f"printer address is empty; expected one of: {FORMS}")
    if _PYSERIAL_URL.match(raw):
        return PrinterAddress(AddressKind.SERIAL, raw)
    scheme, sep, rest = raw.partition(":")
    if not sep or not rest:
        raise PrinterAddressError(
            f"printer address {text!r} has no scheme; expected one of: {FORMS}"
        )
    scheme = scheme.lower()
    if scheme == "serial":
        return _parse_serial(text, rest)
    if scheme == "tcp":
        return _parse_tcp(text, rest)
    if scheme == "file":
        if not rest.startswith("/"):
            raise PrinterAddressError(f"printer address {text!r}: file: needs an absolute path")
        return PrinterAddress(AddressKind.FILE, rest)
    raise PrinterAddressError(
        f"printer address {text!r}: unknown scheme {scheme!r}; expected one of: {FORMS}"
    )


def _parse_serial(text: str, rest: str) -> PrinterAddress:
    path, _, query = rest.partition("?")
    if not path:
        raise PrinterAddressError(f"printer address {text!r}: serial: needs a port path")
    options = parse_qs(query, keep_blank_values=True, strict_parsing=False) if query else {}
    unknown = sorted(set(options) - set(_SERIAL_OPTIONS))
    if unknown:
        raise PrinterAddressError(
            f"printer address {text!r}: unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(_SERIAL_OPTIONS)}"
        )
    baudrate = DEFAULT_BAUDRATE
    if "baudrate" in options:
        value = options["baudrate"][-1]
        if not value.isdigit() or not 50 <= int(value) <= 4_000_000:
            raise PrinterAddressError(
                f"printer address {text!r}: baudrate {value!r} is not a number from 50 to 4000000"
            )
        baudrate = int(value)
    return PrinterAddress(
        AddressKind.SERIAL,
        path,
        baudrate=baudrate,
        rtscts=_flag(text, options, "rtscts"),
        xonxoff=_flag(text, options, "xonxoff"),
    )


def _flag(text: str, options: dict[str, list[str]], name: str) -> bool:
    if name not in options:
        return False
    value = options[name][-1].lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise PrinterAddressError(f"printer address {text!r}: {name}={value!r} is not a yes/no value")


def _parse_tcp(text: str, rest: str) -> PrinterAddress:
    match = _TCP.match(rest)
    if match is None:
        raise PrinterAddressError(f"printer address {text!r}: expected tcp:HOST or tcp:HOST:PORT")
    host = match["v6"] or match["host"]
    port = int(match["port"]) if match["port"] else TCP_DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise PrinterAddressError(f"printer address {text!r}: port {port} is not 1-65535")
    return PrinterAddress(AddressKind.TCP, host, port=port)
