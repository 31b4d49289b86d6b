"""The printer driver: status, jobs (a kiosk's ticket), receipts, the self-test page.

Blocking by design: a print job is a few kilobytes and a status query a few
milliseconds, and serial ports are blocking anyway. :class:`Printer` is safe to share
between threads (one lock serialises jobs and queries); :class:`AsyncPrinter` runs it
in a worker thread for asyncio code (the booth agent). Reopening after a fault, with
backoff, belongs to the device registry, not here: this driver reports each failure
as a specific exception and never retries on its own, so nothing is printed twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from hardware.errors import (
    PaperOut,
    PrinterCoverOpen,
    PrinterDisconnected,
    PrinterError,
    PrinterFault,
    PrinterNotReady,
    PrinterNotResponding,
    PrinterOffline,
    PrintJobFailed,
)
from hardware.printing import status as status_codec
from hardware.printing.address import PrinterAddress, parse_address
from hardware.printing.job import JobKind, PrintJob
from hardware.printing.limits import STATUS_TIMEOUT_S, WRITE_TIMEOUT_S
from hardware.printing.status import PrinterStatus, StatusFlag
from hardware.printing.templates import (
    ClaimReceipt,
    render_receipt,
    render_selftest,
)
from hardware.printing.transport import Transport, open_transport

log = logging.getLogger(__name__)


def _local_now() -> datetime:
    return datetime.now().astimezone()


def _new_job_id() -> str:
    return uuid.uuid4().hex[:12]


class Printer:
    """One ESC/POS receipt printer behind one transport."""

    def __init__(
        self,
        transport: Transport,
        *,
        name: str | None = None,
        status_timeout: float = STATUS_TIMEOUT_S,
        clock: Callable[[], datetime] = _local_now,
        new_job_id: Callable[[], str] = _new_job_id,
    ) -> None:
        self.name = name or transport.name
        self._transport = transport
        self._status_timeout = status_timeout
        self._clock = clock
        self._new_job_id = new_job_id
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        address: str | PrinterAddress,
        *,
        status_timeout: float = STATUS_TIMEOUT_S,
        write_timeout: float = WRITE_TIMEOUT_S,
        clock: Callable[[], datetime] = _local_now,
        new_job_id: Callable[[], str] = _new_job_id,
    ) -> Printer:
        """Open a printer from its address string (see :mod:`hardware.printing.address`)."""
        parsed = parse_address(address) if isinstance(address, str) else address
        transport = open_transport(parsed, write_timeout=write_timeout)
        log.info("printer %s: opened", parsed)
        return cls(
            transport,
            name=str(parsed),
            status_timeout=status_timeout,
            clock=clock,
            new_job_id=new_job_id,
        )

    # -- status ---------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1-4; raises PrinterNotResponding, PrinterGarbled or PrinterDisconnected."""
        with self._lock:
            return self._status()

    def _status(self) -> PrinterStatus:
        self._check_open()
        replies = bytearray()
        for n in status_codec.QUERIES:
            self._transport.discard_input()
            self._transport.write(status_codec.query(n))
            reply = self._transport.read(1, self._status_timeout)
            if not reply:
                raise PrinterNotResponding(
                    f"printer {self.name}: no reply to status query DLE EOT {n} "
                    f"within {self._status_timeout:g} s"
                )
            replies.append(status_codec.check_reply(n, reply))
        return status_codec.decode(bytes(replies))

    def _require_ready(self, status: PrinterStatus) -> None:
        if status.ok:
            return
        what = status.describe()
        error: type[PrinterNotReady]
        if StatusFlag.COVER_OPEN in status:
            error = PrinterCoverOpen
        elif StatusFlag.PAPER_OUT in status:
            error = PaperOut
        elif StatusFlag.ERROR in status:
            error = PrinterFault
        else:
            error = PrinterOffline
        raise error(f"printer {self.name}: not ready: {what}", status)

    # -- jobs -----------------------------------------------------------------------------

    def print_receipt(self, receipt: ClaimReceipt, *, job_id: str | None = None) -> PrintJob:
        """Print a claim receipt; returns the printed job or raises :class:`PrintJobFailed`."""
        data = render_receipt(receipt)
        return self.print_job(self._job(JobKind.RECEIPT, receipt.reference, data, job_id))

    def selftest_page(self) -> PrintJob:
        """Print the self-test page (address, status, code page, sizes, QR, cut)."""
        with self._lock:
            try:
                described = self._status().describe()
            except PrinterError as exc:
                described = f"unknown ({exc})"
        data = render_selftest(self.name, described, self._clock())
        return self.print_job(self._job(JobKind.SELFTEST, "self-test", data, None))

    def print_job(self, job: PrintJob) -> PrintJob:
        """Send a job's bytes (a new job, or a failed one again) and confirm it.

        The status is read before sending (a printer that cannot print gets nothing, so
        the job can be retried safely) and after (the printer took every byte and is
        still ready: no paper ran out, no cover opened during the job).
        """
        with self._lock:
            sent = False
            last: PrinterStatus | None = None
            try:
                last = self._status()
                self._require_ready(last)
                sent = True
                self._transport.write(job.data)
                last = self._status()
                self._require_ready(last)
            except PrinterError as exc:
                failed = job.failed(exc, data_sent=sent, status=last)
                log.warning("printer %s: %s", self.name, failed.describe())
                raise PrintJobFailed(failed, failed.describe()) from exc
        done = job.printed(last)
        log.info("printer %s: %s", self.name, done.describe())
        return done

    def _job(self, kind: JobKind, label: str, data: bytes, job_id: str | None) -> PrintJob:
        return PrintJob(job_id or self._new_job_id(), kind, label, data)

    # -- lifetime -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise PrinterDisconnected(f"printer {self.name}: closed")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._transport.close()
                log.info("printer %s: closed", self.name)

    def __enter__(self) -> Printer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncPrinter:
    """:class:`Printer` for asyncio code: each call runs in the loop's worker threads."""

    def __init__(self, printer: Printer) -> None:
        self.printer = printer

    @classmethod
    async def open(
        cls,
        address: str | PrinterAddress,
        *,
        status_timeout: float = STATUS_TIMEOUT_S,
        write_timeout: float = WRITE_TIMEOUT_S,
    ) -> AsyncPrinter:
        printer = await asyncio.to_thread(
            Printer.open, address, status_timeout=status_timeout, write_timeout=write_timeout
        )
        return cls(printer)

    async def status(self) -> PrinterStatus:
        return await asyncio.to_thread(self.printer.status)

    async def print_receipt(
        self, receipt: ClaimReceipt, *, job_id: str | None = None
    ) -> PrintJob:
        return await asyncio.to_thread(self.printer.print_receipt, receipt, job_id=job_id)

    async def selftest_page(self) -> PrintJob:
        return await asyncio.to_thread(self.printer.selftest_page)

    async def print_job(self, job: PrintJob) -> PrintJob:
        return await asyncio.to_thread(self.printer.print_job, job)

    async def close(self) -> None:
        await asyncio.to_thread(self.printer.close)
