"""The ESC/POS receipt printer's behaviour, free of I/O: stream bytes in, outputs out.

:class:`EmulatedPrinter` takes the host's bytes and returns status replies to DLE EOT, finished
pages at each cut, and a hang-up when a scripted disconnect is due. It answers DLE EOT 1-4 with
status bytes built from the Epson ESC/POS reference, and its fault script (:class:`Fault`) can
change at run time: paper out, paper near end, cover open, error, silent (never answers),
garbage (answers with bytes that are not a status), plus a reply delay and a disconnect after N
bytes. While paper is out, the cover open or an error set, it prints nothing: the page being
received is spoiled and counted, like a real printer that stopped.

The shells that put it on a pseudo-terminal or a TCP port are in :mod:`hardware.emulators.printer`.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from hardware.emulators.escpos_parse import (
    Cut,
    EscposParser,
    Event,
    Feed,
    Newline,
    ParseError,
    QrCode,
    Raster,
    Skipped,
    StatusQuery,
    Text,
)
from hardware.emulators.escpos_render import Page, PageBuilder

log = logging.getLogger(__name__)

GARBAGE_REPLY = b"\xff\x00\xa5\x5a"  # none of these bytes has the fixed bits of a status reply
_PRINT_EVENTS = (Text, Newline, Feed, QrCode, Raster, Cut)


class Fault(enum.Enum):
    PAPER_OUT = "paper-out"
    PAPER_NEAR_END = "near-end"
    COVER_OPEN = "cover-open"
    ERROR = "error"  # an auto-cutter error, recoverable once cleared
    SILENT = "silent"  # takes data but never answers a status query
    GARBAGE = "garbage"  # answers status queries with bytes that are not status replies


_STOPS_PRINTING = {Fault.PAPER_OUT, Fault.COVER_OPEN, Fault.ERROR}


@dataclass(frozen=True)
class Reply:
    data: bytes
    delay: float = 0.0


@dataclass(frozen=True)
class PageDone:
    page: Page


@dataclass(frozen=True)
class Hangup:
    pass


Output = Reply | PageDone | Hangup


class EmulatedPrinter:
    """The printer's behaviour without I/O; thread-safe, so tests may change faults any time."""

    def __init__(self, faults: Iterable[Fault] = (), *, reply_delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._faults: set[Fault] = set(faults)
        self._reply_delay = reply_delay
        self._parser = EscposParser()
        self._builder = PageBuilder()
        self._spoiled = False
        self._received = 0  # bytes taken from the host so far
        self._script: list[tuple[int, Fault | None]] = []  # (at byte count, fault or hang-up)
        self.parse_errors: list[ParseError] = []
        self.skipped: list[Skipped] = []
        self.spoiled_pages = 0
        self.status_queries = 0

    # -- fault script ---------------------------------------------------------------------

    @property
    def faults(self) -> frozenset[Fault]:
        with self._lock:
            return frozenset(self._faults)

    def set_faults(self, *faults: Fault) -> None:
        """Replace the active faults (none: a healthy printer)."""
        with self._lock:
            self._faults = set(faults)

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.add(fault)

    def clear_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.discard(fault)

    @property
    def reply_delay(self) -> float:
        return self._reply_delay

    @reply_delay.setter
    def reply_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"reply delay must be >= 0, not {seconds}")
        self._reply_delay = seconds

    def disconnect_after(self, nbytes: int) -> None:
        """Hang up once ``nbytes`` more bytes have arrived (unplugged in the middle of a job)."""
        self._schedule(nbytes, None)

    def add_fault_after(self, fault: Fault, nbytes: int) -> None:
        """Raise ``fault`` once ``nbytes`` more bytes have arrived (cover opened mid-job)."""
        self._schedule(nbytes, fault)

    def _schedule(self, nbytes: int, action: Fault | None) -> None:
        if nbytes < 0:
            raise ValueError(f"byte count must be >= 0, not {nbytes}")
        with self._lock:
            self._script.append((self._received + nbytes, action))
            self._script.sort(key=lambda item: item[0])

    # -- status bytes (Epson ESC/POS, DLE EOT n) ------------------------------------------

    def status_byte(self, n: int) -> int:
        with self._lock:
            faults = set(self._faults)
        value = 0x12  # fixed bits: 1 and 4 on, 0 and 7 off
        if n == 1 and faults & _STOPS_PRINTING:
            value |= 0x08  # offline
        elif n == 2:
            if Fault.COVER_OPEN in faults:
                value |= 0x04
            if Fault.PAPER_OUT in faults:
                value |= 0x20  # printing stopped at paper end
            if Fault.ERROR in faults:
                value |= 0x40
        elif n == 3 and Fault.ERROR in faults:
            value |= 0x08  # auto-cutter error
        elif n == 4:
            if faults & {Fault.PAPER_NEAR_END, Fault.PAPER_OUT}:
                value |= 0x0C  # near-end sensor
            if Fault.PAPER_OUT in faults:
                value |= 0x60  # paper-end sensor
        return value

    # -- the stream -----------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Output]:
        """Take bytes from the host; return replies, finished pages and hang-ups, in order."""
        outputs: list[Output] = []
        while data:
            with self._lock:
                due = self._script[0][0] if self._script else None
            if due is None or self._received + len(data) < due:
                return outputs + self._parse(data)
            head, data = data[: max(0, due - self._received)], data[max(0, due - self._received) :]
            outputs += self._parse(head)
            with self._lock:
                _, action = self._script.pop(0)
            if action is None:
                outputs.append(Hangup())  # whatever else was on the wire is lost with the line
                return outputs
            self.add_fault(action)
        return outputs

    def _parse(self, data: bytes) -> list[Output]:
        with self._lock:
            self._received += len(data)
            events = self._parser.feed(data)
        return [out for event in events for out in self._event(event)]

    def end_stream(self) -> None:
        """The host went away: an unfinished command is an error, an uncut page is dropped."""
        with self._lock:
            for event in self._parser.finish():
                self._event(event)
            self._parser = EscposParser()
            self._builder.discard()
            self._spoiled = False

    def _event(self, event: Event) -> list[Output]:
        if isinstance(event, StatusQuery):
            self.status_queries += 1
            faults = self.faults
            if Fault.SILENT in faults:
                return []
            if Fault.GARBAGE in faults:
                return [Reply(GARBAGE_REPLY, self._reply_delay)]
            return [Reply(bytes([self.status_byte(event.n)]), self._reply_delay)]
        if isinstance(event, ParseError):
            log.warning("printer emulator: parse error at %s", event)
            self.parse_errors.append(event)
            return []
        if isinstance(event, Skipped):
            self.skipped.append(event)
            return []
        if not isinstance(event, _PRINT_EVENTS):
            return []
        if self.faults & _STOPS_PRINTING:
            self._spoiled = True
        if not isinstance(event, Cut):
            if not self._spoiled:
                self._builder.feed(event)
            return []
        if self._spoiled:
            self._builder.discard()
            self._spoiled = False
            self.spoiled_pages += 1
            log.info("printer emulator: page spoiled (printer was not ready)")
            return []
        page = self._builder.feed(event)
        return [PageDone(page)] if page is not None else []
