"""A faithful ESC/POS receipt printer emulator, on a pseudo-terminal or a TCP port.

:class:`EmulatedPrinter` is the core, free of I/O: stream bytes in, outputs out
(status replies to DLE EOT, finished pages at each cut, a hang-up when a scripted
disconnect is due). It answers DLE EOT 1-4 with status bytes built from the Epson
ESC/POS reference, and its fault script (:class:`Fault`) can change at run time:
paper out, paper near end, cover open, error, silent (never answers), garbage
(answers with bytes that are not a status), plus a reply delay and a disconnect
after N bytes. While paper is out, the cover open or an error set, it prints nothing:
the page being received is spoiled and counted, like a real printer that stopped.

The shells put the core on a pseudo-terminal (:func:`start_pty_emulator`; the driver
opens the slave side through pyserial, as it would ``/dev/ttyUSB0``) or on a TCP
port on 127.0.0.1 (:func:`start_tcp_emulator`, the port-9100 style of network
printers). One named thread per emulator does all its I/O; other threads ask it for
things (inject bytes, hang up, reconnect) through a queue. Each finished page is
drawn to ``job-NNNN.png`` in the output directory and listed in :attr:`jobs`.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import queue
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

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
from hardware.emulators.escpos_render import Page, PageBuilder, render_png

log = logging.getLogger(__name__)

GARBAGE_REPLY = b"\xff\x00\xa5\x5a"  # none of these bytes has the fixed bits of a status reply
POLL_S = 0.5  # how often the I/O thread looks up from select() when nothing happens
JOB_WAIT_S = 10.0  # default wait for printed jobs in wait_for_jobs()
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


@dataclass(frozen=True)
class PrintedJob:
    index: int  # 1, 2, ... in printing order
    text: str  # the lines of text on the page
    qr_codes: tuple[str, ...]  # data of each QR code on the page
    png: Path


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


class _Shell:
    """What both shells share: the core, the printed jobs, the I/O thread and its requests."""

    def __init__(self, out_dir: Path | str, core: EmulatedPrinter, thread_name: str) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.core = core
        self._jobs: list[PrintedJob] = []
        self._jobs_changed = threading.Condition()
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    # -- public ---------------------------------------------------------------------------

    @property
    def jobs(self) -> list[PrintedJob]:
        with self._jobs_changed:
            return list(self._jobs)

    def wait_for_jobs(self, count: int, timeout: float = JOB_WAIT_S) -> list[PrintedJob]:
        """Block until ``count`` jobs have printed; raises TimeoutError naming what did."""
        with self._jobs_changed:
            if not self._jobs_changed.wait_for(lambda: len(self._jobs) >= count, timeout):
                raise TimeoutError(
                    f"printer emulator printed {len(self._jobs)} job(s), expected {count}; "
                    f"parse errors: {[str(e) for e in self.core.parse_errors][:5]}"
                )
            return list(self._jobs)

    @property
    def parse_errors(self) -> list[ParseError]:
        return list(self.core.parse_errors)

    def set_faults(self, *faults: Fault) -> None:
        self.core.set_faults(*faults)

    def add_fault(self, fault: Fault) -> None:
        self.core.add_fault(fault)

    def clear_fault(self, fault: Fault) -> None:
        self.core.clear_fault(fault)

    def inject(self, data: bytes) -> None:
        """Send unsolicited bytes to the host (line noise); returns once they are sent."""
        self._call(lambda: self._send(data))

    def disconnect(self) -> None:
        """Hang up now, as if the cable were pulled."""
        self._request(self._hangup)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake()
        self._thread.join()
        self._teardown()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> _Shell:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the I/O thread -------------------------------------------------------------------

    def _request(self, action: Callable[[], None]) -> None:
        self._requests.put(action)
        self._wake()

    def _call(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the I/O thread and wait for it to be done."""
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        self._request(run)
        if not done.wait(JOB_WAIT_S):
            raise TimeoutError("printer emulator thread did not respond")

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # pipe full: the thread is awake anyway
            os.write(self._wake_w, b"!")

    def _drain_requests(self) -> None:
        os.read(self._wake_r, 4096)
        while True:
            try:
                action = self._requests.get_nowait()
            except queue.Empty:
                return
            action()

    def _process(self, data: bytes) -> None:
        for out in self.core.feed(data):
            if isinstance(out, Reply):
                if out.delay and self._stop.wait(out.delay):
                    return
                self._send(out.data)
            elif isinstance(out, PageDone):
                self._save(out.page)
            else:
                self._hangup()
                return

    def _save(self, page: Page) -> None:
        with self._jobs_changed:
            index = len(self._jobs) + 1
        png = self.out_dir / f"job-{index:04d}.png"
        render_png(page).save(png)
        job = PrintedJob(index, page.text, tuple(page.qr_codes), png)
        with self._jobs_changed:
            self._jobs.append(job)
            self._jobs_changed.notify_all()
        log.info("printer emulator: printed job %d to %s", index, png)

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _send(self, data: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _hangup(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _teardown(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class PtyPrinterEmulator(_Shell):
    """The emulator on a pseudo-terminal; :attr:`port` is a stable path to its slave side.

    The path is a symlink in the output directory (as udev's /dev/serial/by-id links
    are), so after :meth:`disconnect` and :meth:`reconnect` the same address works again.
    """

    def __init__(self, out_dir: Path | str, core: EmulatedPrinter | None = None) -> None:
        super().__init__(out_dir, core or EmulatedPrinter(), "printer-emulator-pty")
        self.port = str(self.out_dir / "printer.tty")
        self._master: int | None = None
        self._slave: int | None = None
        self._open_pty()
        self._thread.start()

    @property
    def address(self) -> str:
        return f"serial:{self.port}"

    @property
    def device(self) -> str | None:
        """The current /dev/pts/N behind :attr:`port` (None while disconnected)."""
        return os.ttyname(self._slave) if self._slave is not None else None

    def reconnect(self) -> None:
        """Plug the printer back in after :meth:`disconnect` (a new pty behind :attr:`port`)."""

        def action() -> None:
            if self._master is None:
                self._open_pty()

        self._call(action)

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: a printer line is 8-bit clean
        self._master, self._slave = master, slave
        tmp = f"{self.port}.new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.port)
        log.info("printer emulator: on %s (%s)", self.port, os.ttyname(slave))

    def _run(self) -> None:
        while not self._stop.is_set():
            fds = [self._wake_r] + ([self._master] if self._master is not None else [])
            ready, _, _ = select.select(fds, [], [], POLL_S)
            if self._wake_r in ready:
                self._drain_requests()
                continue  # a request may have hung up or replaced what we watch
            if self._master is not None and self._master in ready:
                try:
                    data = os.read(self._master, 65536)
                except OSError:
                    time.sleep(0.05)  # no slave open at this instant; nothing to read
                    continue
                self._process(data)

    def _send(self, data: bytes) -> None:
        if self._master is not None:
            try:
                os.write(self._master, data)
            except OSError as exc:
                log.info("printer emulator: reply not delivered: %s", exc)

    def _hangup(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self.core.end_stream()
        log.info("printer emulator: %s hung up", self.port)

    def _teardown(self) -> None:
        if self._master is not None:
            self._hangup()
        if os.path.lexists(self.port):
            os.unlink(self.port)


class TcpPrinterEmulator(_Shell):
    """The emulator on a TCP port of 127.0.0.1, one client at a time like port 9100."""

    def __init__(
        self,
        out_dir: Path | str,
        core: EmulatedPrinter | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(out_dir, core or EmulatedPrinter(), "printer-emulator-tcp")
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._conn: socket.socket | None = None
        self._thread.start()

    @property
    def address(self) -> str:
        return f"tcp:{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The same printer as a pyserial URL."""
        return f"socket://{self.host}:{self.port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            watched = (self._conn if self._conn is not None else self._listener).fileno()
            ready, _, _ = select.select([self._wake_r, watched], [], [], POLL_S)
            if self._wake_r in ready:
                self._drain_requests()
                continue  # a request may have hung up or replaced what we watch
            if watched not in ready or self._stop.is_set():
                continue
            if self._conn is None:
                try:
                    self._conn, peer = self._listener.accept()
                except BlockingIOError:
                    continue
                self._conn.setblocking(True)
                log.info("printer emulator: client %s connected", peer)
                continue
            try:
                data = self._conn.recv(65536)
            except OSError:
                data = b""
            if data:
                self._process(data)
            else:
                self._hangup()

    def _send(self, data: bytes) -> None:
        if self._conn is not None:
            try:
                self._conn.sendall(data)
            except OSError as exc:
                log.info("printer emulator: reply not delivered: %s", exc)

    def _hangup(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self.core.end_stream()
            log.info("printer emulator: connection closed")

    def _teardown(self) -> None:
        self._hangup()
        self._listener.close()


def start_pty_emulator(
    out_dir: Path | str, *, faults: Iterable[Fault] = (), reply_delay: float = 0.0
) -> PtyPrinterEmulator:
    """Start an emulated printer on a pty; ``.port`` is its path, ``.close()`` stops it."""
    return PtyPrinterEmulator(out_dir, EmulatedPrinter(faults, reply_delay=reply_delay))


def start_tcp_emulator(
    out_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Iterable[Fault] = (),
    reply_delay: float = 0.0,
) -> TcpPrinterEmulator:
    """Start an emulated network printer; ``port=0`` picks a free port, read it from ``.port``."""
    core = EmulatedPrinter(faults, reply_delay=reply_delay)
    return TcpPrinterEmulator(out_dir, core, host=host, port=port)


def serve_forever(
    out_dir: Path | str,
    *,
    tcp_port: int | None = None,
    host: str = "127.0.0.1",
    faults: Iterable[Fault] = (),
    on_ready: Callable[[PtyPrinterEmulator | TcpPrinterEmulator], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run an emulator until ``stop`` is set or Ctrl-C: on a pty, or TCP if ``tcp_port`` is given.

    ``on_ready`` receives the running emulator (its ``.address`` is what a driver opens).
    """
    emulator: PtyPrinterEmulator | TcpPrinterEmulator
    if tcp_port is None:
        emulator = start_pty_emulator(out_dir, faults=faults)
    else:
        emulator = start_tcp_emulator(out_dir, host=host, port=tcp_port, faults=faults)
    stop = stop or threading.Event()
    try:
        if on_ready is not None:
            on_ready(emulator)
        while not stop.wait(POLL_S):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
