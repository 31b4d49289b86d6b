"""Serial (USB CDC) barcode/QR scanners.

A scanner in serial mode sends each code as one line: the code's bytes then a suffix
(CR, LF, CR LF or TAB, set on the scanner). :class:`LineFramer` is the pure core (bytes
in, codes and errors out); :class:`SerialScanner` is the shell reading the port with
pyserial-asyncio-fast.

What goes wrong on a real line, and what it becomes:

- a wrong baud rate or noise: bytes that are not UTF-8 text, or control bytes inside a
  line -> :class:`ScannerDataError` naming the byte and its position;
- a scanner set to send no suffix: a line that never ends -> after
  :data:`~hardware.limits.SCANNER_MAX_CODE_BYTES` a :class:`ScannerDataError`, the buffer is
  reset and the rest of that line is dropped up to the next line ending;
- the cable pulled: :class:`DeviceDisconnected`;
- nobody scans: :class:`DeviceTimeout` from :meth:`SerialScanner.read` with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from typing import Any

import serial
import serial_asyncio_fast

from hardware import limits
from hardware.errors import DeviceDisconnected, DeviceTimeout, HardwareError, ScannerDataError
from hardware.serialport import classify_open_error

log = logging.getLogger(__name__)

# GS, RS and EOT separate fields in GS1 and ISO/IEC 15434 codes; they are data, not noise.
_ALLOWED_CONTROLS = frozenset({0x04, 0x1D, 0x1E})


class Suffix(enum.Enum):
    ANY = "any"  # CR, LF or CR LF all end a line
    CR = "cr"
    LF = "lf"
    CRLF = "crlf"
    TAB = "tab"


_TERMINATORS = {
    Suffix.ANY: (b"\r", b"\n"),
    Suffix.CR: (b"\r",),
    Suffix.LF: (b"\n",),
    Suffix.CRLF: (b"\r\n",),
    Suffix.TAB: (b"\t",),
}


def decode_code(raw: bytes) -> str:
    """One line's bytes -> the code, or :class:`ScannerDataError` saying what is wrong."""
    for pos, b in enumerate(raw):
        if (b < 0x20 and b not in _ALLOWED_CONTROLS) or b == 0x7F:
            raise ScannerDataError(
                f"control byte 0x{b:02x} at position {pos} of a {len(raw)}-byte code "
                "(noise on the line, or the baud rate does not match the scanner's)"
            )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScannerDataError(
            f"code is not UTF-8 text: byte 0x{raw[exc.start]:02x} at position {exc.start} "
            "(wrong baud rate, or the scanner sends a code page; set it to UTF-8/ASCII)"
        ) from None


class LineFramer:
    """Splits a scanner's byte stream into codes; bounded, and resets on garbage."""

    def __init__(
        self, suffix: Suffix = Suffix.ANY, max_len: int = limits.SCANNER_MAX_CODE_BYTES
    ) -> None:
        self.suffix = suffix
        self.max_len = max_len
        self._buf = bytearray()
        self._discarding = False

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[str | ScannerDataError]:
        out: list[str | ScannerDataError] = []
        self._buf += data
        while True:
            cut = self._find_terminator()
            if cut is None:
                break
            end, size = cut
            line = bytes(self._buf[:end])
            del self._buf[: end + size]
            if self._discarding:
                self._discarding = False
                continue
            if not line:
                continue  # the LF of CR LF under Suffix.ANY, or a blank line
            try:
                out.append(decode_code(line))
            except ScannerDataError as exc:
                out.append(exc)
        if len(self._buf) > self.max_len:
            if not self._discarding:
                out.append(
                    ScannerDataError(
                        f"no line ending ({self.suffix.value}) within {self.max_len} bytes: "
                        "garbage on the line, or the scanner is not set to end codes with "
                        "the configured suffix; buffer reset"
                    )
                )
            self._buf.clear()
            self._discarding = True
        return out

    def _find_terminator(self) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        for term in _TERMINATORS[self.suffix]:
            at = self._buf.find(term)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, len(term))
        return best


_Item = str | HardwareError


class _ScannerProtocol(asyncio.Protocol):
    def __init__(self, framer: LineFramer, queue: asyncio.Queue[_Item], device: str) -> None:
        self.framer = framer
        self.queue = queue
        self.device = device
        self.lost = asyncio.Event()

    def _put(self, item: _Item) -> None:
        if self.queue.full():  # nobody is reading: keep the newest codes
            self.queue.get_nowait()
            log.warning(
                "scanner queue full, dropped the oldest code",
                extra={"fields": {"device": self.device}},
            )
        self.queue.put_nowait(item)

    def data_received(self, data: bytes) -> None:
        for item in self.framer.feed(data):
            self._put(item)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self._put(DeviceDisconnected(f"scanner {self.device} went away{reason}"))
        self.lost.set()


class SerialScanner:
    """Codes from a serial scanner at ``device`` (path or pyserial URL).

    ``await scanner.read(timeout)`` returns the next code and raises
    :class:`ScannerDataError` for garbage (reading can go on), :class:`DeviceTimeout` when
    no code came in time and :class:`DeviceDisconnected` once the port is gone.
    ``async for code in scanner`` yields codes only: garbage goes to ``on_error`` (logged
    by default) and the loop goes on; it ends by raising :class:`DeviceDisconnected`.
    """

    def __init__(
        self,
        device: str,
        *,
        baudrate: int = limits.SERIAL_DEFAULT_BAUD,
        suffix: Suffix = Suffix.ANY,
        max_len: int = limits.SCANNER_MAX_CODE_BYTES,
        on_error: Callable[[ScannerDataError], None] | None = None,
    ) -> None:
        self.device = device
        self.baudrate = baudrate
        self.framer = LineFramer(suffix, max_len)
        self.on_error = on_error or self._log_error
        self.garbage = 0
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(limits.SCANNER_QUEUE_SIZE)
        self._protocol = _ScannerProtocol(self.framer, self._queue, device)
        self._transport: asyncio.BaseTransport | None = None
        self._gone: DeviceDisconnected | None = None

    async def open(self) -> SerialScanner:
        kwargs: dict[str, Any] = {"url": self.device, "baudrate": self.baudrate}
        if "://" not in self.device:
            kwargs["exclusive"] = True
        try:
            self._transport, _ = await serial_asyncio_fast.create_serial_connection(
                asyncio.get_running_loop(), lambda: self._protocol, **kwargs
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise classify_open_error(self.device, exc) from exc
        log.info("scanner open", extra={"fields": {"device": self.device}})
        return self

    async def close(self) -> None:
        if self._transport is None:
            return
        transport, self._transport = self._transport, None
        if not self._protocol.lost.is_set():
            transport.close()
            # The transport tells the protocol from a task of its own; wait for it so
            # that nothing is left running after close.
            await self._protocol.lost.wait()

    async def __aenter__(self) -> SerialScanner:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def read(self, timeout: float | None = None) -> str:
        if self._gone is not None:
            raise self._gone
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            raise DeviceTimeout(f"no code from scanner {self.device} within {timeout} s") from None
        if isinstance(item, DeviceDisconnected):
            self._gone = item
        if isinstance(item, HardwareError):
            if isinstance(item, ScannerDataError):
                self.garbage += 1
            raise item
        return item

    def __aiter__(self) -> SerialScanner:
        return self

    async def __anext__(self) -> str:
        while True:
            try:
                return await self.read()
            except ScannerDataError as exc:
                self.on_error(exc)

    def _log_error(self, exc: ScannerDataError) -> None:
        log.warning("scanner sent garbage: %s", exc, extra={"fields": {"device": self.device}})


async def read_one(
    device: str,
    timeout: float,
    *,
    baudrate: int = limits.SERIAL_DEFAULT_BAUD,
    suffix: Suffix = Suffix.ANY,
) -> str:
    """Open ``device``, wait for one code (garbage raises), close. For the selftest."""
    scanner = SerialScanner(device, baudrate=baudrate, suffix=suffix)
    await scanner.open()
    try:
        return await scanner.read(timeout)
    finally:
        with contextlib.suppress(HardwareError):
            await scanner.close()
