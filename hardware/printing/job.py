"""What became of one print job: printed, or failed with a named reason.

A job is never lost silently: :meth:`Printer.print_job` and friends return a
:class:`PrintJob` whose outcome is ``PRINTED``, or raise :class:`PrintJobFailed`
carrying the failed :class:`PrintJob` (its id, what it was, why it failed, whether
any byte reached the printer, and its bytes so the caller can print it again).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from hardware.errors import (
    PaperOut,
    PrinterCoverOpen,
    PrinterDisconnected,
    PrinterError,
    PrinterFault,
    PrinterGarbled,
    PrinterNotResponding,
    PrinterOffline,
)
from hardware.printing.status import PrinterStatus


class JobKind(enum.Enum):
    TICKET = "ticket"
    RECEIPT = "receipt"
    SELFTEST = "selftest"
    RAW = "raw"


class JobOutcome(enum.Enum):
    PENDING = "pending"
    PRINTED = "printed"
    FAILED = "failed"


class FailureReason(enum.Enum):
    PAPER_OUT = "paper out"
    COVER_OPEN = "cover open"
    PRINTER_ERROR = "printer error"
    OFFLINE = "offline"
    NOT_RESPONDING = "not responding"
    GARBLED_REPLY = "garbled reply"
    DISCONNECTED = "disconnected"
    OTHER = "other"

    @classmethod
    def of(cls, error: PrinterError) -> FailureReason:
        for kind, reason in _REASONS:
            if isinstance(error, kind):
                return reason
        return cls.OTHER


_REASONS: tuple[tuple[type[PrinterError], FailureReason], ...] = (
    (PaperOut, FailureReason.PAPER_OUT),
    (PrinterCoverOpen, FailureReason.COVER_OPEN),
    (PrinterFault, FailureReason.PRINTER_ERROR),
    (PrinterOffline, FailureReason.OFFLINE),
    (PrinterNotResponding, FailureReason.NOT_RESPONDING),
    (PrinterGarbled, FailureReason.GARBLED_REPLY),
    (PrinterDisconnected, FailureReason.DISCONNECTED),
)


@dataclass(frozen=True)
class PrintJob:
    job_id: str
    kind: JobKind
    label: str  # what a person calls it: the ticket number or the claim reference
    data: bytes = dataclasses.field(repr=False)
    outcome: JobOutcome = JobOutcome.PENDING
    reason: FailureReason | None = None
    detail: str = ""  # the error message, for logs and the technician
    data_sent: bool = False  # True once any byte went out: a partial print may exist
    status: PrinterStatus | None = None  # the last status read for this job

    def printed(self, status: PrinterStatus) -> PrintJob:
        return dataclasses.replace(
            self, outcome=JobOutcome.PRINTED, data_sent=True, status=status, reason=None, detail=""
        )

    def failed(
        self, error: PrinterError, *, data_sent: bool, status: PrinterStatus | None
    ) -> PrintJob:
        return dataclasses.replace(
            self,
            outcome=JobOutcome.FAILED,
            reason=FailureReason.of(error),
            detail=str(error),
            data_sent=data_sent,
            status=status if status is not None else self.status,
        )

    def describe(self) -> str:
        """One line for logs: ``receipt KLM-1 (job 3f2a...): failed, paper out``."""
        head = f"{self.kind.value} {self.label} (job {self.job_id})"
        if self.outcome is JobOutcome.FAILED and self.reason is not None:
            partly = ", may be partly printed" if self.data_sent else ", nothing printed"
            return f"{head}: failed, {self.reason.value}{partly}: {self.detail}"
        return f"{head}: {self.outcome.value}"
