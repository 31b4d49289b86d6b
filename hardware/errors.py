"""Root of every error the hardware layer raises on purpose."""

from bilik.errors import BilikError


class HardwareError(BilikError):
    """A device could not do what was asked; the message says which device and why."""


# --- Printing (hardware/printing/) -------------------------------------------------------


class PrinterError(HardwareError):
    """A receipt printer could not do what was asked."""


class PrinterAddressError(PrinterError, ValueError):
    """A printer address string is malformed; the message shows the accepted forms."""


class PrinterDisconnected(PrinterError):
    """The port or connection to the printer is gone (unplugged, closed, hung up)."""


class PrinterNotResponding(PrinterError):
    """The printer did not answer a status query, or stopped taking data, within the timeout."""


class PrinterGarbled(PrinterError):
    """The printer answered with bytes that are not a valid ESC/POS status reply."""


class PrinterNotReady(PrinterError):
    """The printer answered but cannot print now; ``status`` holds what it reported."""

    def __init__(self, message: str, status: object) -> None:
        super().__init__(message)
        self.status = status


class PrinterOffline(PrinterNotReady):
    """The printer reports itself offline for a reason it did not name."""


class PrinterCoverOpen(PrinterNotReady):
    """The printer's cover is open."""


class PaperOut(PrinterNotReady):
    """The paper roll is empty."""


class PrinterFault(PrinterNotReady):
    """The printer reports an error (cutter jam, overheated head, unrecoverable fault)."""


class PrintJobFailed(PrinterError):
    """A print job did not print; ``job`` is the failed job, naming it and the reason."""

    def __init__(self, job: object, message: str) -> None:
        super().__init__(message)
        self.job = job
