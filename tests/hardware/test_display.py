"""Queue displays: golden bytes of the encoders, the emulators' parsers, and the drivers
writing through pyserial to emulators on pseudo-terminals."""

from __future__ import annotations

import pytest
import serial

from hardware.displays.calls import Call, call_lines, led_text
from hardware.displays.charset import check_codepage, encode, safe_text
from hardware.displays.led import LedDisplay, LedEncoder, LedFraming
from hardware.displays.pole import PoleCommandSet, PoleDisplay, PoleEncoder
from hardware.emulators.led import LedEmulator, LedScreen
from hardware.emulators.pole import PoleEmulator, PoleScreen
from hardware.errors import DeviceDisconnected, DeviceTimeout, DisplayError
from hardware.serialport import open_port

CALL = Call("A012", "3")
TIMEOUT = 10.0

# --- golden bytes, written out by hand from the command sets' manuals -------------------------

CD5220_CALL = b"\x1bQA" + b"A012 ke Bilik 3     " + b"\r\x1bQB" + b"A012 to Booth 3     " + b"\r"
EPSON_INIT = b"\x1b@" + b"\x1bt\x00" + b"\x1f\x01"
EPSON_CALL = b"\x1f$\x01\x01" + b"A012 ke Bilik 3     \x1f$\x01\x02" + b"A012 to Booth 3     "


def test_cd5220_call_golden_bytes() -> None:
    enc = PoleEncoder(PoleCommandSet.CD5220)
    assert enc.init() == b"\x1b@"
    assert enc.clear() == b"\x0c"
    assert enc.call(CALL) == CD5220_CALL


def test_epson_call_golden_bytes() -> None:
    enc = PoleEncoder(PoleCommandSet.EPSON)
    assert enc.init() == EPSON_INIT
    assert enc.call(CALL) == EPSON_CALL


def test_epson_selects_the_character_table_of_the_code_page() -> None:
    assert PoleEncoder(PoleCommandSet.EPSON, codepage="cp858").init() == b"\x1b@\x1bt\x13\x1f\x01"
    # A code page Epson has no table number for sends no ESC t at all.
    assert PoleEncoder(PoleCommandSet.EPSON, codepage="latin-1").init() == b"\x1b@\x1f\x01"


def test_led_frame_golden_bytes_with_each_checksum() -> None:
    body = b"01" + b"DA012   3" + b"\x03"
    xor = 0
    for b in body:
        xor ^= b
    assert LedEncoder(LedFraming(), 1).call(CALL) == b"\x02" + body + bytes([xor])
    assert xor == 0x27  # computed by hand once; pins the XOR
    sum8 = LedEncoder(LedFraming(checksum="sum8"), 1).call(CALL)
    assert sum8 == b"\x02" + body + bytes([sum(body) & 0xFF])
    raw = LedEncoder(LedFraming(checksum="none", address_format="byte", start=0x01, end=0x04), 7)
    assert raw.call(CALL) == b"\x01\x07DA012   3\x04"
    assert LedEncoder(LedFraming(address_format="ascii3"), 12).clear()[:5] == b"\x02012C"


# --- text: widths, languages, code pages ---------------------------------------------------


def test_call_lines_are_exactly_twenty_cells_in_both_languages() -> None:
    top, bottom = call_lines(CALL, 20)
    assert (top, bottom) == ("A012 ke Bilik 3     ", "A012 to Booth 3     ")
    # Too long for the full wording: the short one keeps ticket and booth.
    assert call_lines(Call("PRI-0123", "12"), 20)[0] == "PRI-0123 ke Bilik 12"
    top, bottom = call_lines(Call("PRI-01234", "12"), 20)
    assert top.strip() == "PRI-01234 Bilik 12" and bottom.strip() == "PRI-01234 Booth 12"
    top, _ = call_lines(Call("PRIORITAS-0123", "12"), 20)
    assert top.strip() == "PRIORITAS-0123>12"
    assert all(len(line) == 20 for line in call_lines(Call("X" * 40, "9"), 20))


def test_call_needs_ticket_and_booth() -> None:
    with pytest.raises(ValueError, match="ticket and a booth"):
        Call("", "3")


def test_led_text_puts_booth_on_the_right() -> None:
    assert led_text(CALL, 8) == "A012   3"
    assert led_text(Call("A0123456", "3"), 8) == "A0123456"


def test_indonesian_and_typographic_text_maps_to_one_cell_per_character() -> None:
    text = "Café “Bilik” – № 3 ✓\x07"
    mapped = safe_text(text, "cp437")
    assert len(mapped) == len(text)
    assert mapped == 'Café "Bilik" - ? 3 ??'
    assert encode("Sørensen ŝ", "ascii") == b"S?rensen s"  # accent dropped when missing
    # Control bytes never reach the display: it would obey them as commands.
    assert b"\x1b" not in encode("a\x1bQA", "cp437")


def test_unknown_or_multibyte_code_page_is_refused() -> None:
    with pytest.raises(DisplayError, match="unknown display code page"):
        check_codepage("cp9999")
    with pytest.raises(DisplayError, match="not an 8-bit"):
        check_codepage("utf-8")


def test_led_framing_is_validated() -> None:
    with pytest.raises(DisplayError, match="different control bytes"):
        LedFraming(start=0x02, end=0x02)
    with pytest.raises(DisplayError, match="two digits"):
        LedEncoder(LedFraming(), 120)


# --- emulator parsers --------------------------------------------------------------------------


@pytest.mark.parametrize("command_set", list(PoleCommandSet))
def test_pole_screen_shows_what_the_encoder_sends_even_split_byte_by_byte(
    command_set: PoleCommandSet,
) -> None:
    enc = PoleEncoder(command_set)
    stream = enc.init() + enc.clear() + enc.call(CALL)
    screen = PoleScreen(command_set)
    for i in range(len(stream)):
        assert screen.feed(stream[i : i + 1]) == []
    assert screen.lines() == ["A012 ke Bilik 3     ", "A012 to Booth 3     "]


def test_pole_screen_decodes_the_code_page() -> None:
    enc = PoleEncoder(PoleCommandSet.EPSON, codepage="cp850")
    screen = PoleScreen(PoleCommandSet.EPSON)  # starts on cp437; ESC t 2 switches it
    screen.feed(enc.init() + enc.lines("Café", "Ñ"))
    assert screen.lines()[0].startswith("Café") and screen.lines()[1].startswith("Ñ")


def test_pole_screen_reports_garbage_and_keeps_the_screen() -> None:
    screen = PoleScreen(PoleCommandSet.CD5220)
    screen.feed(CD5220_CALL)
    errors = screen.feed(b"\x1bZ\x07\x1bQX")
    assert [str(e) for e in errors] == [
        "pole display byte 48: unknown command ESC 0x5a",
        "pole display byte 50: unexpected control byte 0x07",
        "pole display byte 51: unknown line selector ESC Q 0x58",
    ]
    assert screen.lines() == ["A012 ke Bilik 3     ", "A012 to Booth 3     "]


def test_epson_cursor_outside_the_screen_is_an_error() -> None:
    screen = PoleScreen(PoleCommandSet.EPSON)
    errors = screen.feed(b"\x1f$\x15\x01")
    assert len(errors) == 1 and "outside 20x2" in str(errors[0])
    assert screen.cursor == (0, 0)


def test_pole_screen_bounds_an_unterminated_line() -> None:
    screen = PoleScreen(PoleCommandSet.CD5220)
    errors = screen.feed(b"\x1bQA" + b"x" * 200)
    assert any("no CR terminator" in str(e) for e in errors)


def test_led_screen_takes_its_frames_and_ignores_other_addresses() -> None:
    framing = LedFraming()
    screen = LedScreen(framing, 1)
    assert screen.feed(LedEncoder(framing, 2).text("OTHER")) == []
    assert screen.foreign_frames == 1 and screen.text == " " * 8
    stream = LedEncoder(framing, 1).call(CALL)
    for b in stream:
        assert screen.feed(bytes([b])) == []
    assert screen.text == "A012   3"


def test_led_screen_rejects_bad_checksum_and_garbage_keeping_the_text() -> None:
    framing = LedFraming()
    screen = LedScreen(framing, 1)
    screen.feed(LedEncoder(framing, 1).call(CALL))
    bad = bytearray(LedEncoder(framing, 1).text("WRONG"))
    bad[-1] ^= 0xFF
    errors = screen.feed(bytes(bad))
    assert len(errors) == 1 and "checksum" in str(errors[0])
    errors = screen.feed(b"\xff\xfe" + b"\x02" + b"x" * 300)
    assert any("stray byte" in str(e) for e in errors)
    assert any("longer than" in str(e) for e in errors)
    assert screen.text == "A012   3"


# --- drivers through pyserial on ptys -------------------------------------------------------


@pytest.mark.parametrize("command_set", list(PoleCommandSet))
def test_pole_driver_shows_a_call_on_the_emulator(command_set: PoleCommandSet) -> None:
    with PoleEmulator(command_set) as emu:
        port = open_port(emu.path)
        try:
            display = PoleDisplay(port, PoleEncoder(command_set), emu.path)
            display.reset()
            display.show_call(CALL)
            assert emu.wait_for(lambda s: s.lines()[1].startswith("A012 to Booth 3"), TIMEOUT)
            display.show_idle()
            assert emu.wait_for(lambda s: "Please take a number" in s.lines()[1], TIMEOUT)
            assert emu.lines()[0].strip() == "Silakan ambil nomor"
        finally:
            port.close()
        assert emu.screen.errors == []


def test_led_driver_shows_a_call_on_the_emulator() -> None:
    framing = LedFraming(checksum="sum8", address_format="ascii3")
    with LedEmulator(framing, 5) as emu:
        port = open_port(emu.path, baudrate=19200)
        try:
            LedDisplay(port, LedEncoder(framing, 5), emu.path).show_call(CALL)
            assert emu.wait_for(lambda s: s.text == "A012   3", TIMEOUT)
        finally:
            port.close()


def test_display_unplugged_mid_job_is_a_clear_error() -> None:
    emu = PoleEmulator()
    port = open_port(emu.path)
    try:
        display = PoleDisplay(port, PoleEncoder(PoleCommandSet.CD5220), emu.path)
        display.show_call(CALL)
        emu.port.unplug()
        with pytest.raises(DeviceDisconnected, match="went away while writing"):
            display.show_call(CALL)
    finally:
        port.close()
        emu.close()


def test_display_that_takes_no_data_times_out() -> None:
    with PoleEmulator() as emu:
        port = open_port(emu.path, write_timeout=0.5)
        try:
            display = PoleDisplay(port, PoleEncoder(PoleCommandSet.CD5220), emu.path)
            emu.port.freeze()
            with pytest.raises(DeviceTimeout, match="took no data"):
                # The pty buffers a few kilobytes before the writer stalls.
                for _ in range(100_000):
                    display.show_call(CALL)
        finally:
            emu.port.thaw()
            port.close()


def test_second_opener_of_a_display_is_told_it_is_busy() -> None:
    from hardware.errors import DeviceBusy

    with PoleEmulator() as emu:
        first = open_port(emu.path)
        try:
            with pytest.raises(DeviceBusy, match=r"is busy.*fuser"):
                open_port(emu.path)
        finally:
            first.close()
        open_port(emu.path).close()  # free again once the first closed


def test_pyserial_loop_url_carries_display_bytes() -> None:
    port = open_port("loop://")
    try:
        PoleDisplay(port, PoleEncoder(PoleCommandSet.CD5220), "loop://").show_call(CALL)
        assert port.read(len(CD5220_CALL)) == CD5220_CALL
    finally:
        port.close()
    assert isinstance(port, serial.SerialBase)
