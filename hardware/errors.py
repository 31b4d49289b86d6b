"""Root of every error the hardware layer raises on purpose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bilik.errors import BilikError

if TYPE_CHECKING:  # only for annotations: these modules import this one
    from hardware.printing.job import PrintJob
    from hardware.printing.status import PrinterStatus


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

    def __init__(self, message: str, status: PrinterStatus) -> None:
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

    def __init__(self, job: PrintJob, message: str) -> None:
        super().__init__(message)
        self.job = job


# --- Device registry, displays, scanners (hardware/registry.py, displays/, scanner.py) ----


class DeviceUnavailable(HardwareError):
    """A device could not be opened; ``device`` names it and ``hint`` says how to fix it."""

    def __init__(self, device: str, message: str, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.device = device
        self.hint = hint


class DeviceAbsent(DeviceUnavailable):
    """No device is at the configured port, or no connected port matches the rule."""


class DeviceBusy(DeviceUnavailable):
    """Another program holds the port open (a running agent, ModemManager, a terminal)."""


class DevicePermissionDenied(DeviceUnavailable):
    """The port exists but this user may not open it (dialout group or a udev rule fixes it)."""


class DeviceRuleError(HardwareError, ValueError):
    """A device match rule in the configuration is malformed; the message shows the forms."""


class DeviceAmbiguous(HardwareError):
    """More than one connected port matches a role's rule; the message lists them."""


class DeviceDisconnected(HardwareError):
    """The device went away while in use (unplugged mid-job, port hung up)."""


class DeviceTimeout(HardwareError):
    """The device did not answer, or stopped taking data, within the named timeout."""


class DisplayError(HardwareError):
    """A queue display could not show what was asked."""


class DisplayFrameError(DisplayError, ValueError):
    """Bytes sent to a display (or its emulator) do not form a valid command or frame."""


class ScannerError(HardwareError):
    """A serial barcode/QR scanner failed."""


class ScannerDataError(ScannerError, ValueError):
    """The scanner sent bytes that are not a code: too long without a line ending, not
    valid text, or control characters. The line buffer was reset; reading can go on."""


# --- Cameras, frame sources and document images (hardware/camera.py, hardware/quality/) ---


class CameraError(HardwareError):
    """A camera or other frame source failed; the message names the source."""


class CameraNotFound(CameraError, DeviceAbsent):
    """The camera device (or video file) does not exist."""


class CameraBusy(CameraError, DeviceBusy):
    """The camera exists but cannot be opened: in use by another program, no permission,
    or not something OpenCV can capture from."""


class SourceEnded(CameraError):
    """The frame source stopped: closed, end of a file, or the device stopped answering."""


class ImageUnreadable(HardwareError, ValueError):
    """An image file or array is not a picture we can use; the message names it and why."""
