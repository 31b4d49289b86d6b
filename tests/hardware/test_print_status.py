"""DLE EOT status decoding and addresses: pure functions, checked against the Epson tables."""

from __future__ import annotations

import pytest
from escpos.constants import RT_MASK_LOWPAPER, RT_MASK_NOPAPER

from hardware.emulators.printer import EmulatedPrinter, Fault
from hardware.errors import PrinterAddressError, PrinterGarbled
from hardware.printing.address import AddressKind, parse_address
from hardware.printing.status import StatusFlag, decode, query

READY = b"\x12\x12\x12\x12"


def test_ready_printer() -> None:
    status = decode(READY)
    assert status.ok
    assert status.flags == StatusFlag.NONE
    assert status.describe() == "ready"


@pytest.mark.parametrize(
    ("replies", "flags", "ok"),
    [
        (b"\x1a\x16\x12\x12", StatusFlag.OFFLINE | StatusFlag.COVER_OPEN, False),
        (b"\x1a\x32\x12\x72", StatusFlag.OFFLINE | StatusFlag.PAPER_OUT, False),
        (b"\x1a\x32\x12\x7e", StatusFlag.OFFLINE | StatusFlag.PAPER_OUT | StatusFlag.PAPER_NEAR_END,
         False),
        (b"\x12\x12\x12\x1e", StatusFlag.PAPER_NEAR_END, True),
        (b"\x1a\x52\x1a\x12", StatusFlag.OFFLINE | StatusFlag.ERROR | StatusFlag.CUTTER_ERROR,
         False),
        (b"\x1a\x52\x32\x12",
         StatusFlag.OFFLINE | StatusFlag.ERROR | StatusFlag.UNRECOVERABLE_ERROR, False),
    ],
)
def test_spec_replies_decode_to_conditions(replies: bytes, flags: StatusFlag, ok: bool) -> None:
    status = decode(replies)
    assert status.flags == flags
    assert status.ok is ok


def test_python_escpos_paper_masks_agree() -> None:
    # python-escpos reads n=4 with these masks; our decoder must say the same.
    assert StatusFlag.PAPER_OUT in decode(b"\x12\x12\x12" + bytes([RT_MASK_NOPAPER])).flags
    assert decode(b"\x12\x12\x12" + bytes([RT_MASK_LOWPAPER])).flags == StatusFlag.PAPER_NEAR_END


@pytest.mark.parametrize("bad", [b"\xff", b"\x00", b"\x10", b"\x92"])
def test_byte_without_the_fixed_bits_is_garbled(bad: bytes) -> None:
    with pytest.raises(PrinterGarbled, match=f"0x{bad[0]:02x}"):
        decode(b"\x12\x12\x12" + bad)


def test_query_bytes() -> None:
    assert query(4) == b"\x10\x04\x04"
    with pytest.raises(ValueError, match="1-4"):
        query(5)


@pytest.mark.parametrize(
    ("faults", "flags"),
    [
        ((), StatusFlag.NONE),
        ((Fault.PAPER_OUT,), StatusFlag.OFFLINE | StatusFlag.PAPER_OUT | StatusFlag.PAPER_NEAR_END),
        ((Fault.PAPER_NEAR_END,), StatusFlag.PAPER_NEAR_END),
        ((Fault.COVER_OPEN,), StatusFlag.OFFLINE | StatusFlag.COVER_OPEN),
        ((Fault.ERROR,), StatusFlag.OFFLINE | StatusFlag.ERROR | StatusFlag.CUTTER_ERROR),
    ],
)
def test_emulator_answers_like_the_spec(faults: tuple[Fault, ...], flags: StatusFlag) -> None:
    printer = EmulatedPrinter(faults)
    assert decode(bytes(printer.status_byte(n) for n in (1, 2, 3, 4))).flags == flags


@pytest.mark.parametrize(
    ("text", "kind", "target", "port", "baudrate"),
    [
        ("serial:/dev/ttyUSB0?baudrate=38400", AddressKind.SERIAL, "/dev/ttyUSB0", 9100, 38400),
        ("serial:/dev/ttyS0", AddressKind.SERIAL, "/dev/ttyS0", 9100, 19200),
        ("socket://127.0.0.1:9100", AddressKind.SERIAL, "socket://127.0.0.1:9100", 9100, 19200),
        ("loop://", AddressKind.SERIAL, "loop://", 9100, 19200),
        ("tcp:192.0.2.7", AddressKind.TCP, "192.0.2.7", 9100, 19200),
        ("tcp:printer-3:9101", AddressKind.TCP, "printer-3", 9101, 19200),
        ("tcp:[::1]:9100", AddressKind.TCP, "::1", 9100, 19200),
        ("file:/dev/usb/lp0", AddressKind.FILE, "/dev/usb/lp0", 9100, 19200),
    ],
)
def test_addresses(text: str, kind: AddressKind, target: str, port: int, baudrate: int) -> None:
    address = parse_address(text)
    assert (address.kind, address.target, address.port, address.baudrate) == (
        kind, target, port, baudrate)
    assert parse_address(str(address)) == address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("/dev/ttyUSB0", "no scheme"),
        ("usb:0x04b8", "unknown scheme 'usb'"),
        ("serial:/dev/ttyUSB0?baud=9600", "unknown option"),
        ("serial:/dev/ttyUSB0?baudrate=fast", "baudrate 'fast'"),
        ("serial:/dev/ttyUSB0?rtscts=maybe", "rtscts='maybe'"),
        ("tcp:printer:99999", "port 99999"),
        ("tcp:print er", "tcp:HOST"),
        ("file:lp0", "absolute path"),
    ],
)
def test_bad_addresses_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PrinterAddressError, match=message):
        parse_address(text)
