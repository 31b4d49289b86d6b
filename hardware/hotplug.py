"""Port listings (the thin shells that read what is plugged in) and the pure diff of two.

The registry polls a listing every ``poll_interval`` seconds; hot-plug is a change
between two listings. Serial ports come from :func:`serial.tools.list_ports.comports`,
video devices from ``/sys/class/video4linux``. Tests inject their own listing source.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from serial.tools import list_ports

SYS_VIDEO = Path("/sys/class/video4linux")


@dataclass(frozen=True)
class PortInfo:
    """One listed device, with the attributes match rules look at (as ListPortInfo has)."""

    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    location: str | None = None
    description: str = ""
    manufacturer: str | None = None
    product: str | None = None
    link: bool = False  # a symlink (/dev/serial/by-id/...) to another listed device
    kind: str = "serial"  # "serial" or "video"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["usb"] = (
            f"{self.vid:04x}:{self.pid:04x}"
            if self.vid is not None and self.pid is not None
            else None
        )
        return data


ListingSource = Callable[[], Sequence[PortInfo]]


def from_list_port_info(info: Any) -> PortInfo:
    hwid = getattr(info, "hwid", "") or ""
    return PortInfo(
        device=info.device,
        vid=info.vid,
        pid=info.pid,
        serial_number=info.serial_number,
        location=info.location,
        description=info.description if info.description not in (None, "n/a") else "",
        manufacturer=info.manufacturer,
        product=info.product,
        link=hwid.startswith("LINK="),
    )


def list_serial_ports() -> list[PortInfo]:
    """Serial ports pyserial sees, symlinks included (so by-id paths can be matched)."""
    ports = [from_list_port_info(p) for p in list_ports.comports(include_links=True)]
    return sorted(ports, key=lambda p: p.device)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def list_video_devices(root: Path = SYS_VIDEO) -> list[PortInfo]:
    """V4L2 devices from sysfs, with USB ids, serial and port location where there are."""
    found = []
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    for name in entries:
        usb = (root / name / "device").resolve().parent  # the USB device above the interface
        vid, pid = _read(usb / "idVendor"), _read(usb / "idProduct")
        found.append(
            PortInfo(
                device=f"/dev/{name}",
                vid=int(vid, 16) if vid else None,
                pid=int(pid, 16) if pid else None,
                serial_number=_read(usb / "serial"),
                location=usb.name if vid else None,
                description=_read(root / name / "name") or "",
                kind="video",
            )
        )
    return found


def list_all() -> list[PortInfo]:
    return list_serial_ports() + list_video_devices()


@dataclass(frozen=True)
class ListingChange:
    added: tuple[PortInfo, ...]
    removed: tuple[PortInfo, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def diff_listing(old: Sequence[PortInfo], new: Sequence[PortInfo]) -> ListingChange:
    """What was plugged in and what was pulled out between two listings."""
    before = {p.device: p for p in old}
    after = {p.device: p for p in new}
    added = tuple(p for d, p in after.items() if before.get(d) != p)
    removed = tuple(p for d, p in before.items() if after.get(d) != p)
    return ListingChange(added, removed)
