"""Byte transports to a printer: serial (pyserial, ports and URLs), raw TCP, device file.

Each transport is a thin blocking shell with three operations. ``write`` sends all
bytes or raises; ``read`` returns whatever arrived before the timeout (possibly
nothing); ``discard_input`` drops stale bytes (a late reply, line noise) before a new
query. Every OS or pyserial failure becomes a :mod:`hardware.errors` exception that
names the address: :class:`PrinterDisconnected` when the device is gone,
:class:`PrinterNotResponding` when it stops taking bytes.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import termios
import time
from typing import Protocol

import serial

from hardware.errors import PrinterDisconnected, PrinterNotResponding
from hardware.printing.address import AddressKind, PrinterAddress
from hardware.printing.limits import CONNECT_TIMEOUT_S, WRITE_TIMEOUT_S

log = logging.getLogger(__name__)


class Transport(Protocol):
    name: str

    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


def open_transport(address: PrinterAddress, *, write_timeout: float = WRITE_TIMEOUT_S) -> Transport:
    """Open the transport an address names; raises :class:`PrinterDisconnected` if it cannot."""
    if address.kind is AddressKind.TCP:
        return TcpTransport(address.target, address.port, write_timeout=write_timeout)
    if address.kind is AddressKind.FILE:
        return FileTransport(address.target, write_timeout=write_timeout)
    return SerialTransport(
        address.target,
        baudrate=address.baudrate,
        rtscts=address.rtscts,
        xonxoff=address.xonxoff,
        write_timeout=write_timeout,
    )


class SerialTransport:
    """A serial port or pyserial URL (``socket://``, ``loop://``, ``rfc2217://``)."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int,
        rtscts: bool = False,
        xonxoff: bool = False,
        write_timeout: float = WRITE_TIMEOUT_S,
    ) -> None:
        self.name = url
        try:
            self._port = serial.serial_for_url(
                url,
                baudrate=baudrate,
                rtscts=rtscts,
                xonxoff=xonxoff,
                timeout=0,
                write_timeout=write_timeout,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PrinterDisconnected(f"printer {url}: cannot open port: {exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException as exc:
            raise PrinterNotResponding(
                f"printer {self.name}: stopped taking data (write timed out)"
            ) from exc
        except (serial.SerialException, OSError, termios.error) as exc:
            raise PrinterDisconnected(f"printer {self.name}: write failed: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        try:
            self._port.timeout = timeout
            return bytes(self._port.read(size))
        except (serial.SerialException, OSError, termios.error) as exc:
            raise PrinterDisconnected(f"printer {self.name}: read failed: {exc}") from exc

    def discard_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise PrinterDisconnected(f"printer {self.name}: port failed: {exc}") from exc

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError, termios.error) as exc:  # closing a dead port
            log.debug("printer %s: close failed: %s", self.name, exc)


class TcpTransport:
    """A network printer's raw port (9100)."""

    def __init__(self, host: str, port: int, *, write_timeout: float = WRITE_TIMEOUT_S) -> None:
        self.name = f"tcp:{host}:{port}"
        self._write_timeout = write_timeout
        try:
            self._sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            raise PrinterDisconnected(f"printer {self.name}: cannot connect: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data: bytes) -> None:
        try:
            self._sock.settimeout(self._write_timeout)
            self._sock.sendall(data)
        except TimeoutError as exc:
            raise PrinterNotResponding(
                f"printer {self.name}: stopped taking data (write timed out)"
            ) from exc
        except OSError as exc:
            raise PrinterDisconnected(f"printer {self.name}: write failed: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        data = b""
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                self._sock.settimeout(remaining)
                chunk = self._sock.recv(size - len(data))
            except TimeoutError:
                break
            except OSError as exc:
                raise PrinterDisconnected(f"printer {self.name}: read failed: {exc}") from exc
            if not chunk:
                raise PrinterDisconnected(f"printer {self.name}: connection closed by the printer")
            data += chunk
        return data

    def discard_input(self) -> None:
        try:
            self._sock.settimeout(0)
            while True:
                chunk = self._sock.recv(4096)
                if not chunk:
                    raise PrinterDisconnected(
                        f"printer {self.name}: connection closed by the printer"
                    )
        except (BlockingIOError, TimeoutError):
            return
        except OSError as exc:
            raise PrinterDisconnected(f"printer {self.name}: read failed: {exc}") from exc

    def close(self) -> None:
        self._sock.close()


class FileTransport:
    """A character device: ``/dev/usb/lp0``, ``/dev/lp0``, or a pseudo-terminal."""

    def __init__(self, path: str, *, write_timeout: float = WRITE_TIMEOUT_S) -> None:
        self.name = f"file:{path}"
        self._write_timeout = write_timeout
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise PrinterDisconnected(f"printer {self.name}: cannot open: {exc}") from exc

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + self._write_timeout
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PrinterNotResponding(
                    f"printer {self.name}: stopped taking data (write timed out)"
                )
            try:
                _, ready, _ = select.select([], [self._fd], [], remaining)
                if not ready:
                    continue
                written = os.write(self._fd, view)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise PrinterDisconnected(f"printer {self.name}: write failed: {exc}") from exc
            view = view[written:]

    def read(self, size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        data = b""
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            chunk = self._read_ready(size - len(data), remaining)
            if chunk is None:
                break
            data += chunk
        return data

    def _read_ready(self, size: int, timeout: float) -> bytes | None:
        try:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._fd, size)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise PrinterDisconnected(f"printer {self.name}: read failed: {exc}") from exc
        if not chunk:
            raise PrinterDisconnected(f"printer {self.name}: device hung up")
        return chunk

    def discard_input(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 4096)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    return
                raise PrinterDisconnected(f"printer {self.name}: read failed: {exc}") from exc
            if not chunk:
                raise PrinterDisconnected(f"printer {self.name}: device hung up")

    def close(self) -> None:
        try:
            os.close(self._fd)
        except OSError as exc:
            log.debug("printer %s: close failed: %s", self.name, exc)
