"""The ESC/POS receipt printer emulator's shells: on a pseudo-terminal or a TCP port.

The printer's behaviour is :class:`~hardware.emulators.printer_core.EmulatedPrinter`, free of
I/O (bytes in; replies, pages and hang-ups out). The shells put it on a pseudo-terminal
(:func:`start_pty_emulator`, through :class:`~hardware.emulators.serialpty.PtyPort` like every
emulator on a pty; the driver opens the slave side through pyserial, as it would
``/dev/ttyUSB0``) or on a TCP port on 127.0.0.1 (:func:`start_tcp_emulator`, the port-9100
style of network printers). Each finished page is drawn to ``job-NNNN.png`` in the output
directory and listed in :attr:`jobs`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from hardware.emulators.escpos_parse import ParseError
from hardware.emulators.escpos_render import Page, render_png
from hardware.emulators.printer_core import (
    GARBAGE_REPLY,
    EmulatedPrinter,
    Fault,
    Hangup,
    Output,
    PageDone,
    Reply,
)
from hardware.emulators.serialpty import PtyPort

__all__ = [
    "GARBAGE_REPLY",
    "EmulatedPrinter",
    "Fault",
    "Hangup",
    "Output",
    "PageDone",
    "PrintedJob",
    "PtyPrinterEmulator",
    "Reply",
    "TcpPrinterEmulator",
    "serve_forever",
    "start_pty_emulator",
    "start_tcp_emulator",
]

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the TCP shell's thread looks up from select() when nothing happens
JOB_WAIT_S = 10.0  # default wait for printed jobs in wait_for_jobs()


@dataclass(frozen=True)
class PrintedJob:
    index: int  # 1, 2, ... in printing order
    text: str  # the lines of text on the page
    qr_codes: tuple[str, ...]  # data of each QR code on the page
    png: Path


class _Shell:
    """What both shells share: the core, the printed jobs, and acting on the core's outputs."""

    def __init__(self, out_dir: Path | str, core: EmulatedPrinter) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.core = core
        self._jobs: list[PrintedJob] = []
        self._jobs_changed = threading.Condition()
        self._stop = threading.Event()

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

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the core's outputs ---------------------------------------------------------------

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

    def _send(self, data: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _hangup(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class PtyPrinterEmulator(_Shell):
    """The emulator on a pseudo-terminal; :attr:`port` is a stable path to its slave side.

    The path is a symlink in the output directory (as udev's /dev/serial/by-id links
    are), so after :meth:`disconnect` and :meth:`reconnect` the same address works again.
    The pty's reader thread feeds the core and answers; a scripted hang-up unplugs the pty
    from that thread.
    """

    def __init__(self, out_dir: Path | str, core: EmulatedPrinter | None = None) -> None:
        super().__init__(out_dir, core or EmulatedPrinter())
        self.port = str(self.out_dir / "printer.tty")
        self._pty = self._open_pty()

    @property
    def address(self) -> str:
        return f"serial:{self.port}"

    @property
    def device(self) -> str | None:
        """The current /dev/pts/N behind :attr:`port` (None while disconnected)."""
        return None if self._pty.closed else self._pty.path

    def inject(self, data: bytes) -> None:
        """Send unsolicited bytes to the host (line noise); returns once they are sent."""
        self._send(data)

    def disconnect(self) -> None:
        """Hang up now, as if the cable were pulled."""
        self._hangup()

    def reconnect(self) -> None:
        """Plug the printer back in after :meth:`disconnect` (a new pty behind :attr:`port`)."""
        if self._pty.closed and not self._stop.is_set():
            self._pty = self._open_pty()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._hangup()
        if os.path.lexists(self.port):
            os.unlink(self.port)

    def _open_pty(self) -> PtyPort:
        pty = PtyPort("printer", self._process, link=self.port)
        log.info("printer emulator: on %s (%s)", self.port, pty.path)
        return pty

    def _send(self, data: bytes) -> None:
        try:
            self._pty.write(data)
        except OSError as exc:
            log.info("printer emulator: reply not delivered: %s", exc)

    def _hangup(self) -> None:
        pty = self._pty
        if pty.closed:
            return
        pty.unplug()
        self.core.end_stream()
        log.info("printer emulator: %s hung up", self.port)


class TcpPrinterEmulator(_Shell):
    """The emulator on a TCP port of 127.0.0.1, one client at a time like port 9100.

    One named thread does all its I/O; other threads ask it for things (inject bytes, hang
    up) through a queue.
    """

    def __init__(
        self,
        out_dir: Path | str,
        core: EmulatedPrinter | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(out_dir, core or EmulatedPrinter())
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(
            target=self._run, name="printer-emulator-tcp", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        return f"tcp:{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The same printer as a pyserial URL."""
        return f"socket://{self.host}:{self.port}"

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
        self._hangup()
        self._listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

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
