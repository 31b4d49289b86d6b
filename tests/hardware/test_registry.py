"""Device registry: rule parsing and matching (pure), backoff (pure), and the polling shell
binding roles to real pty devices while a fake port listing plugs and unplugs them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bilik.backoff import Backoff
from bilik.config import load
from bilik.devicehealth import DeviceHealth
from hardware.config import HardwareConfig
from hardware.displays.calls import Call
from hardware.displays.pole import PoleCommandSet, PoleDisplay, PoleEncoder
from hardware.emulators.pole import PoleEmulator
from hardware.errors import DeviceAbsent, DeviceDisconnected, DeviceRuleError
from hardware.hotplug import PortInfo, diff_listing, list_video_devices
from hardware.registry import (
    DeviceRegistry,
    HealthReport,
    MatchRule,
    Role,
    parse_rule,
    resolve,
    specs_from_config,
)
from hardware.serialport import open_port

TIMEOUT = 10.0
DISPLAY_VID, DISPLAY_PID = 0x067B, 0x2303


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Listing:
    """The injected listing source: what `list_ports.comports()` would say right now."""

    def __init__(self) -> None:
        self.ports: list[PortInfo] = []

    def plug(self, device: str, serial_number: str = "SN1", location: str = "1-1.2") -> None:
        self.ports.append(
            PortInfo(device, DISPLAY_VID, DISPLAY_PID, serial_number, location, "USB-Serial")
        )

    def unplug(self, device: str) -> None:
        self.ports = [p for p in self.ports if p.device != device]

    def __call__(self) -> list[PortInfo]:
        return list(self.ports)


# --- rules ----------------------------------------------------------------------------------


def test_rules_parse_every_documented_form() -> None:
    assert parse_rule(Role.READER, "/dev/ttyACM0").rule == MatchRule(port="/dev/ttyACM0")
    assert parse_rule(Role.READER, "socket://10.0.0.7:4001").rule == MatchRule(
        url="socket://10.0.0.7:4001"
    )
    spec = parse_rule(Role.QUEUE_DISPLAY, "usb=067B:2303, serial=A1B2C3, baud=19200")
    assert spec.rule == MatchRule(vid=0x067B, pid=0x2303, serial_number="A1B2C3")
    assert spec.baudrate == 19200
    assert parse_rule(Role.CAMERA, "location=1-1.4").rule == MatchRule(location="1-1.4")
    assert parse_rule(Role.CAMERA, "vid=046d").rule == MatchRule(vid=0x046D)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("usb=067b", "must be VVVV:PPPP"),
        ("usb=zz:2303", "not a 4-digit hex USB id"),
        ("colour=red", "unknown key 'colour'"),
        ("ttyUSB0", "cannot read 'ttyUSB0'"),
        ("serial=A,serial=B", "serial given twice"),
        ("/dev/ttyUSB0,serial=A", "cannot be combined"),
        ("serial=A,baud=fast", "not a line speed"),
        ("baud=9600", "matches nothing"),
        ("usb=067b:2303,vid=1", "either usb= or vid="),
    ],
)
def test_bad_rules_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(DeviceRuleError, match=problem):
        parse_rule(Role.QUEUE_DISPLAY, text)


def test_config_file_binds_roles(tmp_path: Path) -> None:
    path = tmp_path / "booth.toml"
    path.write_text('[hardware]\nreader = "usb=1eab:0d10"\nqueue_display = "/dev/ttyUSB1"\n')
    specs = specs_from_config(load(HardwareConfig, "hardware", path=path, env={}))
    assert [(s.role, s.rule) for s in specs] == [
        (Role.QUEUE_DISPLAY, MatchRule(port="/dev/ttyUSB1")),
        (Role.READER, MatchRule(vid=0x1EAB, pid=0x0D10)),
    ]


# --- matching -----------------------------------------------------------------------------


PORTS = [
    PortInfo("/dev/ttyUSB0", 0x067B, 0x2303, "AAA", "1-1.2"),
    PortInfo("/dev/ttyUSB1", 0x067B, 0x2303, "BBB", "1-1.3"),
    PortInfo("/dev/ttyACM0", 0x1EAB, 0x0D10, "SCN", "1-1.4"),
    PortInfo("/dev/serial/by-id/usb-Newland-if00", 0x1EAB, 0x0D10, "SCN", "1-1.4", link=True),
    PortInfo("/dev/video0", 0x046D, 0x0825, None, "1-1.5", kind="video"),
]


def test_resolve_by_each_attribute() -> None:
    def dev(role: Role, text: str) -> str | None:
        return resolve(parse_rule(role, text), PORTS).device

    assert dev(Role.QUEUE_DISPLAY, "usb=067b:2303,serial=BBB") == "/dev/ttyUSB1"
    assert dev(Role.QUEUE_DISPLAY, "location=1-1.2") == "/dev/ttyUSB0"
    # The by-id link does not make the scanner's rule ambiguous...
    assert dev(Role.READER, "usb=1eab:0d10") == "/dev/ttyACM0"
    # ...and can be named directly.
    assert dev(Role.READER, "/dev/serial/by-id/usb-Newland-if00") == (
        "/dev/serial/by-id/usb-Newland-if00"
    )
    # Cameras match video devices only.
    assert dev(Role.CAMERA, "usb=046d:0825") == "/dev/video0"
    assert dev(Role.QUEUE_DISPLAY, "usb=046d:0825") is None
    assert dev(Role.READER, "socket://127.0.0.1:9") == "socket://127.0.0.1:9"


def test_two_matches_are_ambiguous_not_a_guess() -> None:
    res = resolve(parse_rule(Role.QUEUE_DISPLAY, "usb=067b:2303"), PORTS)
    assert res.device is None
    assert res.candidates == ("/dev/ttyUSB0", "/dev/ttyUSB1")


def test_listing_diff_names_what_was_plugged_and_pulled() -> None:
    change = diff_listing(PORTS[:2], PORTS[1:3])
    assert [p.device for p in change.added] == ["/dev/ttyACM0"]
    assert [p.device for p in change.removed] == ["/dev/ttyUSB0"]
    assert not diff_listing(PORTS, list(PORTS))


def test_video_listing_reads_sysfs(tmp_path: Path) -> None:
    usb = tmp_path / "devices" / "1-1.5"
    (usb / "1-1.5:1.0").mkdir(parents=True)
    (usb / "idVendor").write_text("046d\n")
    (usb / "idProduct").write_text("0825\n")
    (usb / "serial").write_text("CAM1\n")
    cls = tmp_path / "video4linux" / "video0"
    cls.mkdir(parents=True)
    (cls / "name").write_text("UVC Camera\n")
    os.symlink(usb / "1-1.5:1.0", cls / "device")
    [cam] = list_video_devices(tmp_path / "video4linux")
    assert cam == PortInfo(
        "/dev/video0", 0x046D, 0x0825, "CAM1", "1-1.5", "UVC Camera", kind="video"
    )


# --- the shell on real ptys -----------------------------------------------------------------


def _pole(port: object, path: str) -> PoleDisplay:
    return PoleDisplay(port, PoleEncoder(PoleCommandSet.CD5220), path)


async def test_hotplug_unplug_mid_job_and_replug_elsewhere() -> None:
    listing, clock = Listing(), FakeClock()
    spec = parse_rule(Role.QUEUE_DISPLAY, "usb=067b:2303,serial=SN1")
    changes: list[HealthReport] = []
    registry = DeviceRegistry([spec], listing=listing, clock=clock, rng=lambda: 1.0)
    registry.subscribe(changes.append)
    first = PoleEmulator()
    second: PoleEmulator | None = None
    try:
        assert (await registry.poll_once())[Role.QUEUE_DISPLAY].health is DeviceHealth.ABSENT
        with pytest.raises(DeviceAbsent, match="nothing connected matches"):
            registry.get(Role.QUEUE_DISPLAY)

        listing.plug(first.path)  # plugged in
        report = (await registry.poll_once())[Role.QUEUE_DISPLAY]
        assert (report.health, report.device) == (DeviceHealth.OK, first.path)
        display = _pole(registry.get(Role.QUEUE_DISPLAY), first.path)
        display.show_call(Call("A012", "3"))
        assert first.wait_for(lambda s: s.lines()[0].startswith("A012 ke Bilik 3"), TIMEOUT)

        first.port.unplug()  # cable pulled mid-job
        with pytest.raises(DeviceDisconnected) as lost:
            display.show_call(Call("A013", "4"))
        registry.report_failure(Role.QUEUE_DISPLAY, lost.value)
        report = registry.snapshot()[Role.QUEUE_DISPLAY]
        assert report.health is DeviceHealth.REOPENING and "went away" in report.detail
        listing.unplug(first.path)
        assert (await registry.poll_once())[Role.QUEUE_DISPLAY].health is DeviceHealth.ABSENT

        second = PoleEmulator()  # back, enumerated at another path
        listing.plug(second.path)
        report = (await registry.poll_once())[Role.QUEUE_DISPLAY]
        assert (report.health, report.device) == (DeviceHealth.OK, second.path)
        _pole(registry.get(Role.QUEUE_DISPLAY), second.path).show_call(Call("A013", "4"))
        assert second.wait_for(lambda s: s.lines()[0].startswith("A013 ke Bilik 4"), TIMEOUT)
        assert [c.health for c in changes] == [
            DeviceHealth.ABSENT,  # the first listing: absent, now with the reason
            DeviceHealth.OK,
            DeviceHealth.REOPENING,
            DeviceHealth.ABSENT,
            DeviceHealth.OK,
        ]
    finally:
        await registry.close()
        first.close()
        if second is not None:
            second.close()


async def test_busy_device_is_retried_with_capped_backoff_until_free() -> None:
    listing, clock = Listing(), FakeClock()
    spec = parse_rule(Role.QUEUE_DISPLAY, "location=1-1.2")
    registry = DeviceRegistry(
        [spec],
        listing=listing,
        clock=clock,
        backoff=Backoff(1, 4, factor=2, jitter=0.5, rand=lambda: 1.0),
    )
    with PoleEmulator() as emu:
        listing.plug(emu.path)
        holder = open_port(emu.path)  # another program has the display
        try:
            delays = []
            for _ in range(4):
                report = (await registry.poll_once())[Role.QUEUE_DISPLAY]
                assert report.health is DeviceHealth.BUSY
                assert "fuser" in report.hint
                assert report.retry_at is not None
                delays.append(report.retry_at - clock.now)
                # Before the delay is up nothing is tried (no tight loop)...
                assert (await registry.poll_once())[Role.QUEUE_DISPLAY].attempts == len(delays)
                clock.now = report.retry_at  # ...after it, the next attempt
            assert delays == [1, 2, 4, 4]
        finally:
            holder.close()
        report = (await registry.poll_once())[Role.QUEUE_DISPLAY]
        assert (report.health, report.attempts) == (DeviceHealth.OK, 0)
        await registry.close()


async def test_polling_loop_notices_hotplug_and_publishes_health() -> None:
    listing = Listing()
    spec = parse_rule(Role.QUEUE_DISPLAY, "serial=SN7")
    seen: asyncio.Queue[HealthReport] = asyncio.Queue()
    registry = DeviceRegistry([spec], listing=listing, poll_interval=0.05)
    registry.subscribe(seen.put_nowait)

    async def next_health() -> DeviceHealth:
        return (await asyncio.wait_for(seen.get(), TIMEOUT)).health

    with PoleEmulator() as emu:
        async with registry:
            listing.plug(emu.path, serial_number="SN7")
            assert await next_health() is DeviceHealth.OK
            listing.unplug(emu.path)
            assert await next_health() is DeviceHealth.ABSENT
            listing.plug(emu.path, serial_number="SN7")
            assert await next_health() is DeviceHealth.OK
        # Closing the registry closed the port: it can be opened exclusively again.
        open_port(emu.path).close()


async def test_ambiguous_rule_is_an_error_naming_the_candidates() -> None:
    listing = Listing()
    listing.plug("/dev/ttyFAKE0", serial_number="X")
    listing.plug("/dev/ttyFAKE1", serial_number="Y")
    registry = DeviceRegistry([parse_rule(Role.QUEUE_DISPLAY, "usb=067b:2303")], listing=listing)
    report = (await registry.poll_once())[Role.QUEUE_DISPLAY]
    assert report.health is DeviceHealth.ERROR
    assert "2 devices match" in report.detail and "/dev/ttyFAKE1" in report.detail
    assert "add serial= or location=" in report.detail
    await registry.close()


async def test_unconfigured_role_says_where_to_bind_it() -> None:
    registry = DeviceRegistry([], listing=Listing())
    with pytest.raises(DeviceAbsent, match=r"\[hardware\] section"):
        registry.get(Role.READER)
    await registry.close()
