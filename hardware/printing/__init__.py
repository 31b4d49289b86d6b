"""ESC/POS receipt printers: addresses, transports, status, templates, the driver.

    >>> from hardware.printing import ClaimReceipt, Printer
    >>> with Printer.open("serial:/dev/ttyUSB0?baudrate=19200") as printer:  # doctest: +SKIP
    ...     printer.print_receipt(ClaimReceipt("KLM-1", "Disetujui / Approved", [], now))
"""

from hardware.printing.address import AddressKind, PrinterAddress, parse_address
from hardware.printing.job import FailureReason, JobKind, JobOutcome, PrintJob
from hardware.printing.printer import AsyncPrinter, Printer
from hardware.printing.status import PrinterStatus, StatusFlag
from hardware.printing.templates import (
    ClaimReceipt,
    QueueTicket,
    render_receipt,
    render_selftest,
)

__all__ = [
    "AddressKind",
    "AsyncPrinter",
    "ClaimReceipt",
    "FailureReason",
    "JobKind",
    "JobOutcome",
    "PrintJob",
    "Printer",
    "PrinterAddress",
    "PrinterStatus",
    "QueueTicket",
    "StatusFlag",
    "parse_address",
    "render_receipt",
    "render_selftest",
]
