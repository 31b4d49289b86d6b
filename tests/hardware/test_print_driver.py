"""The printer driver against the emulator on a pseudo-terminal and on TCP: real bytes,
real ports, every fault a clear error, and no job lost without saying so."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import decode as zbar_decode

from frontdesk.ticket_slip import TicketSlip, render_slip
from hardware.emulators.printer import (
    Fault,
    PtyPrinterEmulator,
    TcpPrinterEmulator,
    serve_forever,
    start_pty_emulator,
    start_tcp_emulator,
)
from hardware.errors import (
    PaperOut,
    PrinterDisconnected,
    PrinterGarbled,
    PrinterNotResponding,
    PrintJobFailed,
)
from hardware.printing import (
    AsyncPrinter,
    ClaimReceipt,
    FailureReason,
    JobKind,
    JobOutcome,
    Printer,
    PrintJob,
    StatusFlag,
)

WHEN = datetime(2024, 3, 12, 9, 41)
SHORT = 0.3  # status timeout for faults that never answer: waiting longer proves nothing
GENEROUS = 5.0  # status timeout where an answer is expected


def receipt(reference: str = "KLM-2024-000123") -> ClaimReceipt:
    return ClaimReceipt(
        reference, "Disetujui / Approved", ["Dana ditransfer dalam 5 hari kerja"], WHEN
    )


def ticket(number: str = "A-017") -> PrintJob:
    """A queue ticket job as the kiosk makes it, from the one ticket template."""
    slip = TicketSlip(number, "jht", WHEN, f"TKT-{number}", expected_wait_s=600.0, ahead=2)
    return PrintJob(f"ticket-{number}", JobKind.TICKET, number, render_slip(slip))


@pytest.fixture
def pty_emulator(tmp_path: Path) -> Iterator[PtyPrinterEmulator]:
    emulator = start_pty_emulator(tmp_path / "paper")
    yield emulator
    emulator.close()


@pytest.fixture
def tcp_emulator(tmp_path: Path) -> Iterator[TcpPrinterEmulator]:
    emulator = start_tcp_emulator(tmp_path / "paper")
    yield emulator
    emulator.close()


def open_printer(address: str, timeout: float = GENEROUS) -> Printer:
    return Printer.open(address, status_timeout=timeout, write_timeout=GENEROUS)


# -- round trips ----------------------------------------------------------------------------


def test_receipt_round_trip_on_a_pty_qr_gives_back_the_reference(
    pty_emulator: PtyPrinterEmulator,
) -> None:
    with open_printer(pty_emulator.address) as printer:
        job = printer.print_receipt(receipt("KLM-2024-000123"), job_id="job-1")
    assert (job.outcome, job.kind, job.label, job.job_id) == (
        JobOutcome.PRINTED, JobKind.RECEIPT, "KLM-2024-000123", "job-1")
    [printed] = pty_emulator.wait_for_jobs(1)
    assert printed.qr_codes == ("KLM-2024-000123",)
    assert "Keputusan / Decision:" in printed.text
    with Image.open(printed.png) as image:
        decoded = [d.data.decode() for d in zbar_decode(image)]
    assert decoded == ["KLM-2024-000123"]
    assert pty_emulator.parse_errors == []


@pytest.mark.parametrize("via", ["tcp", "pyserial-url"])
def test_ticket_over_the_network(tcp_emulator: TcpPrinterEmulator, via: str) -> None:
    address = tcp_emulator.address if via == "tcp" else tcp_emulator.url
    with open_printer(address) as printer:
        assert printer.status().ok
        printer.print_job(ticket("B-002"))
    [printed] = tcp_emulator.wait_for_jobs(1)
    assert printed.text.splitlines()[:2] == ["Nomor antrean / Queue number", "B-002"]
    assert printed.qr_codes == ("TKT-B-002",)


def test_device_file_transport(pty_emulator: PtyPrinterEmulator) -> None:
    with open_printer(f"file:{pty_emulator.device}") as printer:
        printer.print_job(ticket())
    assert pty_emulator.wait_for_jobs(1)[0].qr_codes == ("TKT-A-017",)


def test_selftest_page_reports_address_and_status(pty_emulator: PtyPrinterEmulator) -> None:
    pty_emulator.set_faults(Fault.PAPER_NEAR_END)
    with open_printer(pty_emulator.address) as printer:
        job = printer.selftest_page()
    assert job.status is not None and StatusFlag.PAPER_NEAR_END in job.status
    [page] = pty_emulator.wait_for_jobs(1)
    assert f"Printer: serial:{pty_emulator.port}" in page.text.replace("\n", "")  # wrapped
    assert "Status: paper near end" in page.text


def test_async_wrapper(tcp_emulator: TcpPrinterEmulator) -> None:
    # A plain test running its own loop: asyncio.run() also joins the worker threads.
    # (An `async def` test here trips the shared leak check on its own fixture's finalizer.)
    async def main() -> PrintJob:
        printer = await AsyncPrinter.open(tcp_emulator.address, status_timeout=GENEROUS)
        try:
            assert (await printer.status()).ok
            return await printer.print_receipt(receipt("KLM-9"))
        finally:
            await printer.close()

    job = asyncio.run(main())
    assert job.outcome is JobOutcome.PRINTED
    assert tcp_emulator.wait_for_jobs(1)[0].qr_codes == ("KLM-9",)


# -- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "flag"),
    [
        (Fault.PAPER_OUT, StatusFlag.PAPER_OUT),
        (Fault.COVER_OPEN, StatusFlag.COVER_OPEN),
        (Fault.PAPER_NEAR_END, StatusFlag.PAPER_NEAR_END),
        (Fault.ERROR, StatusFlag.ERROR),
    ],
)
def test_status_follows_the_fault_script(
    pty_emulator: PtyPrinterEmulator, fault: Fault, flag: StatusFlag
) -> None:
    with open_printer(pty_emulator.address) as printer:
        assert printer.status().ok
        pty_emulator.set_faults(fault)
        status = printer.status()
        assert flag in status
        assert status.ok is (fault is Fault.PAPER_NEAR_END)
        pty_emulator.set_faults()
        assert printer.status().ok


def test_slow_replies_within_the_timeout_are_fine(pty_emulator: PtyPrinterEmulator) -> None:
    pty_emulator.core.reply_delay = 0.05
    with open_printer(pty_emulator.address, timeout=GENEROUS) as printer:
        assert printer.status().ok


def test_printer_that_never_answers(pty_emulator: PtyPrinterEmulator) -> None:
    pty_emulator.set_faults(Fault.SILENT)
    with open_printer(pty_emulator.address, timeout=SHORT) as printer:
        with pytest.raises(PrinterNotResponding, match="no reply to status query DLE EOT 1"):
            printer.status()
        pty_emulator.set_faults()
        assert printer.status().ok  # recovers once the printer answers again


def test_reply_slower_than_the_timeout_is_not_responding_then_recovers(
    pty_emulator: PtyPrinterEmulator,
) -> None:
    pty_emulator.core.reply_delay = 2.0
    with open_printer(pty_emulator.address, timeout=SHORT) as printer:
        with pytest.raises(PrinterNotResponding):
            printer.status()
        pty_emulator.core.reply_delay = 0.0
        # The printer still works through its backlog of slow replies: wait for it, then
        # every answer must be whole and right (late bytes are dropped before a query).
        deadline = time.monotonic() + 20
        while True:
            try:
                assert printer.status().ok
                break
            except PrinterNotResponding:
                assert time.monotonic() < deadline, "printer never recovered"
        for _ in range(3):
            assert printer.status().ok


@pytest.mark.parametrize("kind", ["pty", "tcp"])
def test_garbage_from_the_port(
    kind: str, request: pytest.FixtureRequest
) -> None:
    emulator = request.getfixturevalue(f"{kind}_emulator")
    emulator.set_faults(Fault.GARBAGE)
    with open_printer(emulator.address) as printer:
        with pytest.raises(PrinterGarbled, match="0xff is not a DLE EOT reply"):
            printer.status()
        emulator.set_faults()
        emulator.inject(b"\x00\xff noise \xfe")  # unsolicited bytes before the next query
        assert printer.status().ok


def test_a_port_that_echoes_is_garbled_not_a_status() -> None:
    with open_printer("loop://") as printer, pytest.raises(PrinterGarbled, match="0x10"):
        printer.status()


def test_missing_port_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PrinterDisconnected, match="cannot open"):
        Printer.open(f"serial:{tmp_path}/ttyUSB9")
    with pytest.raises(PrinterDisconnected, match="cannot open"):
        Printer.open(f"file:{tmp_path}/lp0")


# -- jobs that fail are reported, never lost --------------------------------------------------


def test_paper_out_job_fails_before_sending_and_can_be_printed_later(
    pty_emulator: PtyPrinterEmulator,
) -> None:
    pty_emulator.set_faults(Fault.PAPER_OUT)
    with open_printer(pty_emulator.address) as printer:
        with pytest.raises(PrintJobFailed) as failure:
            printer.print_receipt(receipt("KLM-7"), job_id="r-7")
        job = failure.value.job
        assert (job.job_id, job.label, job.outcome, job.reason) == (
            "r-7", "KLM-7", JobOutcome.FAILED, FailureReason.PAPER_OUT)
        assert job.data_sent is False
        assert isinstance(failure.value.__cause__, PaperOut)
        assert "receipt KLM-7 (job r-7): failed, paper out, nothing printed" in str(failure.value)
        assert pty_emulator.jobs == []

        pty_emulator.set_faults()  # paper loaded
        again = printer.print_job(job)
    assert again.outcome is JobOutcome.PRINTED and again.job_id == "r-7"
    assert pty_emulator.wait_for_jobs(1)[0].qr_codes == ("KLM-7",)


def test_cover_opened_during_a_job_is_reported_as_maybe_partly_printed(
    pty_emulator: PtyPrinterEmulator,
) -> None:
    with open_printer(pty_emulator.address) as printer:
        printer.status()
        # The cover opens 50 bytes into the job (after the status query before it): the
        # job's bytes reach a printer that has stopped, and the check after must catch it.
        pty_emulator.core.add_fault_after(Fault.COVER_OPEN, 4 * 3 + 50)  # 4 queries of 3 bytes
        with pytest.raises(PrintJobFailed) as failure:
            printer.print_job(ticket("C-3"))
    job = failure.value.job
    assert job.reason is FailureReason.COVER_OPEN
    assert job.data_sent is True
    assert pty_emulator.jobs == []
    assert pty_emulator.core.spoiled_pages == 1


def test_unplugged_mid_job(pty_emulator: PtyPrinterEmulator) -> None:
    with open_printer(pty_emulator.address) as printer:
        printer.status()
        pty_emulator.core.disconnect_after(100)  # the job is longer than this
        with pytest.raises(PrintJobFailed) as failure:
            printer.print_receipt(receipt("KLM-8"))
    job = failure.value.job
    assert job.reason is FailureReason.DISCONNECTED
    assert job.data_sent is True
    assert "may be partly printed" in job.describe()
    assert pty_emulator.jobs == []


def test_reopen_after_unplug_and_replug(pty_emulator: PtyPrinterEmulator) -> None:
    printer = open_printer(pty_emulator.address)
    try:
        pty_emulator.disconnect()
        with pytest.raises(PrintJobFailed) as failure:
            printer.print_job(ticket())
        assert failure.value.job.reason is FailureReason.DISCONNECTED
        assert failure.value.job.data_sent is False
    finally:
        printer.close()
    pty_emulator.reconnect()
    with open_printer(pty_emulator.address) as printer:
        printer.print_job(failure.value.job)
    assert pty_emulator.wait_for_jobs(1)[0].qr_codes == ("TKT-A-017",)


def test_network_printer_closing_the_connection(tcp_emulator: TcpPrinterEmulator) -> None:
    with open_printer(tcp_emulator.address) as printer:
        assert printer.status().ok
        tcp_emulator.disconnect()
        with pytest.raises(PrintJobFailed) as failure:
            printer.print_receipt(receipt())
    assert failure.value.job.reason is FailureReason.DISCONNECTED
    with open_printer(tcp_emulator.address) as printer:  # a new connection is served
        printer.print_job(failure.value.job)
    assert tcp_emulator.wait_for_jobs(1)[0].qr_codes == ("KLM-2024-000123",)


def test_silent_printer_fails_the_job_with_not_responding(
    tcp_emulator: TcpPrinterEmulator,
) -> None:
    tcp_emulator.set_faults(Fault.SILENT)
    with (
        open_printer(tcp_emulator.address, timeout=SHORT) as printer,
        pytest.raises(PrintJobFailed) as failure,
    ):
        printer.print_job(ticket())
    assert failure.value.job.reason is FailureReason.NOT_RESPONDING
    assert failure.value.job.data_sent is False


def test_closed_printer_refuses_jobs(tcp_emulator: TcpPrinterEmulator) -> None:
    printer = open_printer(tcp_emulator.address)
    printer.close()
    with pytest.raises(PrintJobFailed, match="closed"):
        printer.print_job(ticket())


def test_garbage_sent_to_the_printer_is_recorded_with_offsets(
    tcp_emulator: TcpPrinterEmulator,
) -> None:
    with open_printer(tcp_emulator.address) as printer:
        printer._transport.write(b"\x1b\x99junk\x07")  # a confused host
        printer.print_job(ticket())
    [printed] = tcp_emulator.wait_for_jobs(1)
    assert [(e.offset, e.message) for e in tcp_emulator.parse_errors][:2] == [
        (0, "unknown command ESC 0x99"), (6, "unknown control byte 0x07")]
    assert printed.text.startswith("junk")  # printed as text, as a real printer would


def test_serve_forever_runs_until_stopped(tmp_path: Path) -> None:
    stop = threading.Event()
    ready: list[str] = []

    def started(emulator: PtyPrinterEmulator | TcpPrinterEmulator) -> None:
        ready.append(emulator.address)
        with open_printer(emulator.address) as printer:
            printer.print_job(ticket("D-4"))
        emulator.wait_for_jobs(1)
        stop.set()

    runner = threading.Thread(
        target=serve_forever,
        args=(tmp_path,),
        kwargs={"tcp_port": 0, "on_ready": started, "stop": stop},
        name="test-serve-forever",
    )
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert ready and ready[0].startswith("tcp:127.0.0.1:")
    assert (tmp_path / "job-0001.png").exists()
