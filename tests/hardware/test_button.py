"""The hand button: its protocol (pure), the driver against the emulator on a pty, the
self-test and `bilik hw` (in-process and the emulator as a subprocess)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from hardware.button import (
    ButtonError,
    ButtonEvent,
    ButtonEventKind,
    ButtonParser,
    HandButton,
)
from hardware.commands.output import EXIT_FAULT, EXIT_OK
from hardware.emulators.button import IDENT, ButtonEmulator
from hardware.errors import DeviceDisconnected
from tests.hardware.test_cli import TIMEOUT, _line, _spawn, _stop, config, run

P, R = ButtonEvent(ButtonEventKind.PRESSED), ButtonEvent(ButtonEventKind.RELEASED)


def test_the_protocol_lines_and_garbage() -> None:
    parser = ButtonParser()
    assert parser.feed(b"P\r\nR\r") == [P]
    assert parser.feed(b"\nOK BILIK-HAND-BUTTON 2.1\r\n") == [
        R, ButtonEvent(ButtonEventKind.IDENT, "BILIK-HAND-BUTTON 2.1")]
    assert parser.feed(b"E switch stuck closed\n\n") == [
        ButtonEvent(ButtonEventKind.FAULT, "switch stuck closed")]
    assert parser.errors == []
    assert parser.feed(b"\xff\xfe\nX\nOK\n\x01P\nP\n") == [P]  # each bad line skipped alone
    assert len(parser.errors) == 4 and "not ASCII" in parser.errors[0]
    parser.errors.clear()
    assert parser.feed(b"A" * 100) == [] and "without a line ending" in parser.errors[0]
    assert parser.feed(b"\nP\n") == [P]  # reading goes on after the reset


async def test_the_driver_identifies_reads_presses_and_lights_the_lamp() -> None:
    with ButtonEmulator() as emu:
        button = await HandButton(emu.path).open()
        try:
            assert await button.identify() == IDENT
            await button.set_light(True)
            assert await asyncio.to_thread(emu.wait_light, True, TIMEOUT)
            emu.click()
            assert [await button.next(), await button.next()] == [P, R]
            assert button.presses == 1
            await button.set_light(False)
            assert await asyncio.to_thread(emu.wait_light, False, TIMEOUT)
            emu.unplug()
            with pytest.raises(DeviceDisconnected, match="went away"):
                await asyncio.wait_for(button.next(), TIMEOUT)
        finally:
            await button.close()


async def test_a_port_that_is_no_button_or_a_faulty_one_is_named() -> None:
    with ButtonEmulator(silent=True) as emu:
        button = await HandButton(emu.path).open()
        try:
            with pytest.raises(ButtonError, match=r"did not answer within 0\.3 s"):
                await button.identify(timeout=0.3)
        finally:
            await button.close()
    with ButtonEmulator(fault="switch stuck closed") as emu:
        button = await HandButton(emu.path).open()
        try:
            with pytest.raises(ButtonError, match="switch stuck closed"):
                await button.identify()
        finally:
            await button.close()


def test_bilik_hw_selftest_blinks_the_lamp_and_waits_for_a_press(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    with ButtonEmulator() as emu:
        # The technician presses when the lamp has blinked (on, then off again).
        def technician() -> None:
            if emu.wait_light(True, TIMEOUT) and emu.wait_light(False, TIMEOUT):
                emu.click()

        thread = threading.Thread(target=technician)
        thread.start()
        try:
            code, out, err = run(capsys, "selftest", "hand_button", "--timeout", str(TIMEOUT),
                                 "--config", config(tmp_path, hand_button=emu.path), "--json")
        finally:
            thread.join()
    assert code == EXIT_OK, out
    assert out == {"ok": True, "device": emu.path, "kind": "button", "ident": IDENT,
                   "lamp": "blinked", "pressed": True}
    assert "press the button now" in err
    with ButtonEmulator() as emu:
        code, out, _ = run(capsys, "selftest", emu.path, "--kind", "button", "--timeout",
                           "0.3", "--json")
    assert code == EXIT_FAULT and "no press within 0.3 s" in out["message"]


def test_bilik_hw_emulate_button_presses_on_each_line_typed() -> None:
    import subprocess

    proc = _spawn("emulate", "button", "--json", stdin=subprocess.PIPE)
    try:
        started = _line(proc)
        assert started["kind"] == "button"

        async def press() -> list[ButtonEvent]:
            button = await HandButton(started["port"]).open()
            try:
                assert await button.identify() == IDENT
                assert proc.stdin is not None
                proc.stdin.write("press\n")
                proc.stdin.flush()
                return [await asyncio.wait_for(button.next(), TIMEOUT) for _ in range(2)]
            finally:
                await button.close()

        assert asyncio.run(press()) == [P, R]
        assert _line(proc) == {"event": "pressed"}
    finally:
        assert _stop(proc) == EXIT_OK
