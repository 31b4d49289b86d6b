"""Opening serial ports, and turning the ways that fails into errors a technician can act on.

Every driver in this package opens its port through :func:`open_port` (a path such as
``/dev/ttyUSB0`` or a pyserial URL such as ``socket://127.0.0.1:4000``), so that
"absent", "busy" and "permission denied" read the same everywhere and say what fixes them.
"""

from __future__ import annotations

import errno
import logging

import serial

from hardware import limits
from hardware.errors import (
    DeviceAbsent,
    DeviceBusy,
    DeviceDisconnected,
    DevicePermissionDenied,
    DeviceTimeout,
    DeviceUnavailable,
)

log = logging.getLogger(__name__)

UDEV_RULES = "docs/udev/99-bilik-hardware.rules"

HINT_ABSENT = "check the cable and run `bilik hw list` to see what is connected"
HINT_BUSY = (
    "another program holds the port: stop it (see `fuser -v {device}`); if it is "
    f"ModemManager, install {UDEV_RULES} which tells it to leave the port alone"
)
HINT_PERMISSION = (
    "add yourself to the dialout group (`sudo usermod -aG dialout $USER`, then log in "
    f"again) or install {UDEV_RULES} (`sudo cp {UDEV_RULES} /etc/udev/rules.d/ && "
    "sudo udevadm control --reload && sudo udevadm trigger`)"
)

_ABSENT_ERRNOS = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}
_BUSY_ERRNOS = {errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK}
_PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM}


def classify_open_error(device: str, exc: BaseException) -> DeviceUnavailable:
    """Map an exception raised while opening ``device`` to a specific, actionable error."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in _PERMISSION_ERRNOS or "Permission denied" in text:
        return DevicePermissionDenied(
            device, f"permission denied opening {device}", HINT_PERMISSION
        )
    if code in _BUSY_ERRNOS or "exclusively lock" in text or "busy" in text.lower():
        return DeviceBusy(device, f"{device} is busy", HINT_BUSY.format(device=device))
    if code in _ABSENT_ERRNOS or "No such file" in text:
        return DeviceAbsent(device, f"no device at {device}", HINT_ABSENT)
    if isinstance(exc, ConnectionRefusedError) or "Could not open socket" in text:
        return DeviceAbsent(device, f"nothing answers at {device}", HINT_ABSENT)
    return DeviceUnavailable(device, f"cannot open {device}: {text}")


def open_port(
    device: str,
    *,
    baudrate: int = limits.SERIAL_DEFAULT_BAUD,
    timeout: float | None = limits.SERIAL_READ_TIMEOUT_S,
    write_timeout: float | None = limits.SERIAL_WRITE_TIMEOUT_S,
    exclusive: bool = True,
) -> serial.SerialBase:
    """Open ``device`` (path or pyserial URL) or raise a :class:`DeviceUnavailable` subclass.

    ``exclusive`` takes an advisory lock on local ports so that two programs never
    interleave bytes on one display; pyserial URLs ignore it.
    """
    kwargs: dict[str, object] = {
        "baudrate": baudrate,
        "timeout": timeout,
        "write_timeout": write_timeout,
    }
    if "://" not in device:
        kwargs["exclusive"] = exclusive
    try:
        port = serial.serial_for_url(device, **kwargs)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise classify_open_error(device, exc) from exc
    log.debug("opened %s", device, extra={"fields": {"device": device, "baud": baudrate}})
    return port


def write_all(port: serial.SerialBase, data: bytes, device: str) -> None:
    """Write ``data`` and wait until it left; unplug and stalls become specific errors."""
    try:
        written = port.write(data)
        port.flush()
    except serial.SerialTimeoutException as exc:
        raise DeviceTimeout(
            f"{device} took no data for {port.write_timeout} s (device not answering; "
            "check power, cable and flow control)"
        ) from exc
    except (serial.SerialException, OSError) as exc:
        raise DeviceDisconnected(f"{device} went away while writing: {exc}") from exc
    if written is not None and written != len(data):
        raise DeviceTimeout(
            f"{device} took only {written} of {len(data)} bytes (device not answering)"
        )
