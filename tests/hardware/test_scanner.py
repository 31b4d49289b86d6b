"""Serial scanners: the pure line framer, and the pyserial-asyncio-fast shell reading an
emulated scanner on a pseudo-terminal."""

from __future__ import annotations

import asyncio

import pytest

from hardware.emulators.scanner import ScannerEmulator
from hardware.errors import DeviceAbsent, DeviceDisconnected, DeviceTimeout, ScannerDataError
from hardware.scanner import LineFramer, SerialScanner, Suffix, decode_code, read_one

TIMEOUT = 10.0
QR = "BPJS|TK|A012|2020-06-01T09:30"


def test_framer_splits_on_cr_lf_and_crlf_and_skips_blank_lines() -> None:
    framer = LineFramer()
    assert framer.feed(b"A012\r\nB0") == ["A012"]
    assert framer.feed(b"07\rC1\n\n") == ["B007", "C1"]
    assert framer.pending == 0


ERROR = "<error>"


@pytest.mark.parametrize(
    ("suffix", "stream", "expected"),
    [
        # A LF inside a CR-ended line is a control byte in the code: reported, not split.
        (Suffix.CR, b"a\nb\rc\r", [ERROR, "c"]),
        (Suffix.LF, b"a\rb\nc\n", [ERROR, "c"]),
        (Suffix.CRLF, b"ab\r\nd\r\n", ["ab", "d"]),
        (Suffix.TAB, b"x\ty\t", ["x", "y"]),
    ],
)
def test_framer_honours_the_configured_suffix(
    suffix: Suffix, stream: bytes, expected: list[str]
) -> None:
    out = LineFramer(suffix).feed(stream)
    assert [c if isinstance(c, str) else ERROR for c in out] == expected


def test_framer_keeps_gs1_separators_and_utf8() -> None:
    assert LineFramer().feed("01\x1d17Bilik ké\r".encode()) == ["01\x1d17Bilik ké"]


def test_line_without_ending_is_garbage_then_reading_resumes() -> None:
    framer = LineFramer(max_len=64)
    out = framer.feed(b"x" * 65)
    assert len(out) == 1 and isinstance(out[0], ScannerDataError)
    assert "no line ending (any) within 64 bytes" in str(out[0])
    assert framer.pending == 0
    # The rest of the overlong line is dropped, not mistaken for a code...
    assert framer.feed(b"yyyy\r\n") == []
    # ...and the next code reads normally.
    assert framer.feed(b"A012\r") == ["A012"]


def test_bad_bytes_are_reported_with_position() -> None:
    with pytest.raises(ScannerDataError, match=r"not UTF-8 text: byte 0xff at position 2"):
        decode_code(b"ab\xffc")
    with pytest.raises(ScannerDataError, match=r"control byte 0x00 at position 1"):
        decode_code(b"a\x00")
    framer = LineFramer()
    out = framer.feed(b"\xfe\xfe\rA012\r")
    assert isinstance(out[0], ScannerDataError) and out[1] == "A012"


async def test_scanner_reads_codes_from_the_emulator() -> None:
    with ScannerEmulator() as emu:
        async with SerialScanner(emu.path) as scanner:
            emu.scan("A012")
            emu.scan(QR)
            assert await scanner.read(TIMEOUT) == "A012"
            assert await scanner.read(TIMEOUT) == QR


async def test_scanner_async_iterator_skips_garbage_and_reports_it() -> None:
    errors: list[ScannerDataError] = []
    with ScannerEmulator(suffix=b"\r") as emu:
        async with SerialScanner(emu.path, suffix=Suffix.CR, on_error=errors.append) as scanner:
            emu.inject_raw(b"\x00\xff\x13garbage\r")
            emu.scan("A012")
            emu.scan("A013")
            codes = []
            async for code in scanner:
                codes.append(code)
                if len(codes) == 2:
                    break
    assert codes == ["A012", "A013"]
    assert len(errors) == 1 and "control byte 0x00" in str(errors[0])


async def test_garbage_without_line_ending_is_a_clear_error_and_reading_goes_on() -> None:
    with ScannerEmulator() as emu:
        async with SerialScanner(emu.path, max_len=256) as scanner:
            emu.inject_raw(b"\x55" * 300)
            with pytest.raises(ScannerDataError, match="no line ending"):
                await scanner.read(TIMEOUT)
            emu.inject_raw(b"\r\n")
            emu.scan("A012")
            assert await scanner.read(TIMEOUT) == "A012"
            assert scanner.garbage == 1


async def test_scanner_that_never_sends_times_out() -> None:
    with ScannerEmulator() as emu:
        async with SerialScanner(emu.path) as scanner:
            with pytest.raises(DeviceTimeout, match=r"no code from scanner .* within 0.3 s"):
                await scanner.read(0.3)


async def test_scanner_unplugged_mid_read_is_a_clear_error() -> None:
    emu = ScannerEmulator()
    try:
        async with SerialScanner(emu.path) as scanner:
            emu.scan("A012")
            assert await scanner.read(TIMEOUT) == "A012"
            emu.unplug()
            with pytest.raises(DeviceDisconnected, match="went away"):
                await scanner.read(TIMEOUT)
            # Stays gone: no silent hang on the next read.
            with pytest.raises(DeviceDisconnected):
                await scanner.read(TIMEOUT)
    finally:
        emu.close()


async def test_absent_scanner_says_how_to_find_it() -> None:
    with pytest.raises(DeviceAbsent, match=r"no device at /dev/ttyBILIK404.*bilik hw list"):
        await read_one("/dev/ttyBILIK404", TIMEOUT)


async def test_scanner_over_a_socket_url() -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SOCK-1\r\n")
        await writer.drain()
        received.put_nowait(await reader.read(1))  # wait until the client goes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await read_one(f"socket://127.0.0.1:{port}", TIMEOUT) == "SOCK-1"
        await asyncio.wait_for(received.get(), TIMEOUT)
    finally:
        server.close()
        await server.wait_closed()
