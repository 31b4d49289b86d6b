"""The one pty every emulator stands on: bytes both ways through pyserial, a stable link kept
across unplug and replug, and a hang-up decided by the emulator itself while it reads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import serial

from hardware.emulators.serialpty import PtyPort
from hardware.serialport import open_port

TIMEOUT = 10.0


def test_bytes_both_ways_and_a_hang_up_from_on_data_then_a_replug_on_the_same_link(
    tmp_path: Path,
) -> None:
    link = tmp_path / "device.tty"
    received = bytearray()
    hung_up = threading.Event()
    ports: list[PtyPort] = []

    def on_data(data: bytes) -> None:
        received.extend(data)
        if b"bye" in received:
            ports[-1].unplug()  # from the port's own reader thread, as a scripted fault does
            hung_up.set()

    ports.append(PtyPort("test-device", on_data, link=link))
    first_pts = ports[0].path
    assert link.resolve() == Path(first_pts)
    driver = open_port(str(link), timeout=TIMEOUT)
    try:
        ports[0].write(b"hello\n")
        assert driver.readline() == b"hello\n"
        driver.write(b"bye")  # no flush: the port may hang up before a drain returns
        assert hung_up.wait(TIMEOUT)
        assert ports[0].closed
        with pytest.raises(serial.SerialException):  # the line is gone (EIO)
            for _ in range(100):
                driver.write(b"x" * 4096)
                driver.flush()
    finally:
        driver.close()

    received.clear()
    ports.append(PtyPort("test-device", on_data, link=link))  # plugged back in
    try:
        assert link.resolve() == Path(ports[1].path)
        with open_port(str(link), timeout=TIMEOUT) as driver:
            ports[1].write(b"again\n")
            assert driver.readline() == b"again\n"
    finally:
        ports[1].close()
