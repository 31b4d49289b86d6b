"""`bilik hw`: the real CLI, in-process (bilik.cli.main) and as a subprocess, against
emulators on pseudo-terminals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bilik.cli import main
from bilik.devicehealth import DeviceHealth
from hardware.commands.output import EXIT_ABSENT, EXIT_BUSY, EXIT_FAULT, EXIT_OK, EXIT_PERMISSION
from hardware.displays.calls import Call
from hardware.displays.pole import PoleCommandSet, PoleDisplay, PoleEncoder
from hardware.emulators.led import LedEmulator
from hardware.emulators.pole import PoleEmulator
from hardware.emulators.scanner import ScannerEmulator
from hardware.serialport import open_port

TIMEOUT = 20.0
BILIK = [sys.executable, "-m", "bilik.cli"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["hw", *argv])
    captured = capsys.readouterr()
    out: Any = captured.out
    if "--json" in argv and captured.out.strip():
        out = json.loads(captured.out)
    return code, out, captured.err


@pytest.fixture
def pole() -> Iterator[PoleEmulator]:
    with PoleEmulator(PoleCommandSet.EPSON) as emu:
        yield emu


def config(tmp_path: Path, **roles: str) -> str:
    body = "".join(f'{k} = "{v}"\n' for k, v in roles.items())
    path = tmp_path / "hw.toml"
    path.write_text("[hardware]\n" + body)
    return str(path)


# --- list / probe -------------------------------------------------------------------------------


def test_list_json_names_every_field(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--json")
    assert code == EXIT_OK
    for device in out["devices"]:
        assert {"device", "usb", "serial_number", "location", "vid", "pid"} <= device.keys()


def test_probe_says_ok_busy_and_absent(
    capsys: pytest.CaptureFixture[str], pole: PoleEmulator
) -> None:
    code, out, _ = run(capsys, "probe", pole.path, "--json")
    assert code == EXIT_OK and out["ports"][0]["health"] == DeviceHealth.OK
    holder = open_port(pole.path)
    try:
        code, out, _ = run(capsys, "probe", pole.path, "--json")
    finally:
        holder.close()
    assert code == EXIT_BUSY
    assert out["ports"][0]["health"] == DeviceHealth.BUSY and "fuser" in out["ports"][0]["hint"]
    code, text, _ = run(capsys, "probe", "/dev/ttyBILIK404")
    assert code == EXIT_ABSENT and "no device at /dev/ttyBILIK404" in text


def test_probe_permission_denied_names_the_fix(pole: PoleEmulator) -> None:
    """A user who may not open the port is told about the dialout group and the udev rule."""
    if os.geteuid() != 0:
        os.chmod(pole.path, 0)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: an ordinary user, as a technician would be
        try:
            os.close(read_fd)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            with os.fdopen(write_fd, "w") as sink:
                sys.stdout = sink
                code = main(["hw", "probe", pole.path, "--json"])
                sink.write(f"\nEXIT {code}\n")
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as source:
        text = source.read()
    os.waitpid(pid, 0)
    body, _, tail = text.rpartition("\nEXIT ")
    assert int(tail) == EXIT_PERMISSION
    port = json.loads(body)["ports"][0]
    assert port["health"] == DeviceHealth.PERMISSION_DENIED
    assert "dialout" in port["hint"] and "99-bilik-hardware.rules" in port["hint"]


# --- status ------------------------------------------------------------------


def test_status_reports_each_configured_role(
    capsys: pytest.CaptureFixture[str], pole: PoleEmulator, tmp_path: Path
) -> None:
    cfg = config(tmp_path, queue_display=pole.path, reader="usb=1eab:0d10,serial=NOPE")
    code, out, _ = run(capsys, "status", "--config", cfg, "--json")
    roles = {r["role"]: r for r in out["roles"]}
    assert roles["queue_display"]["health"] == DeviceHealth.OK
    assert roles["queue_display"]["device"] == pole.path
    assert roles["reader"]["health"] == DeviceHealth.ABSENT
    assert "nothing connected matches" in roles["reader"]["detail"]
    assert code == EXIT_ABSENT


def test_bad_rule_in_config_is_one_clear_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "status", "--config", config(tmp_path, reader="usb=zz"))
    assert code == 1
    assert "reader: usb='zz' must be VVVV:PPPP" in err
    assert "Traceback" not in err


# --- selftest ------------------------------------------------------------------


def test_selftest_pole_by_role_shows_pattern_and_message(
    capsys: pytest.CaptureFixture[str], pole: PoleEmulator, tmp_path: Path
) -> None:
    cfg = tmp_path / "hw.toml"
    cfg.write_text(
        f'[hardware]\nqueue_display = "{pole.path}"\nqueue_display_kind = "pole-epson"\n'
    )
    code, out, err = run(
        capsys, "selftest", "queue_display", "--config", str(cfg), "--hold", "0", "--json"
    )
    assert code == EXIT_OK, err
    assert out["ok"] and out["kind"] == "pole-epson"
    assert "[1/4] reset and clear" in err and "[4/4]" in err  # progress on stderr
    assert pole.wait_for(lambda s: s.lines()[1].startswith("Queue display test"), TIMEOUT)
    assert pole.lines()[0].strip() == "Uji layar antrean"
    assert pole.screen.errors == []


def test_selftest_led_by_path(capsys: pytest.CaptureFixture[str]) -> None:
    with LedEmulator(address=1) as led:
        code, out, _ = run(capsys, "selftest", led.path, "--kind", "led", "--hold", "0", "--json")
        assert code == EXIT_OK and out["address"] == 1
        assert led.wait_for(lambda s: s.text == "ADR 1   ", TIMEOUT)
        assert led.screen.frames == 2


def _keep_scanning(emu: ScannerEmulator, data: bytes, stop: threading.Event) -> threading.Thread:
    # pyserial flushes input on open, so keep sending until the CLI has read something.
    def loop() -> None:
        while not stop.wait(0.05):
            emu.inject_raw(data)

    thread = threading.Thread(target=loop, name="test-scan-injector")
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("data", "exit_code", "expect"),
    [
        (b"A012\r\n", EXIT_OK, "A012"),
        (b"\x00\x9f\x13\r", EXIT_FAULT, "control byte 0x00"),
        (b"U" * 5000, EXIT_FAULT, "no line ending"),
    ],
)
def test_selftest_scanner_reads_a_code_or_names_the_garbage(
    capsys: pytest.CaptureFixture[str], data: bytes, exit_code: int, expect: str
) -> None:
    with ScannerEmulator() as emu:
        stop = threading.Event()
        thread = _keep_scanning(emu, data, stop)
        try:
            code, out, err = run(
                capsys,
                "selftest",
                emu.path,
                "--kind",
                "scanner",
                "--timeout",
                str(TIMEOUT),
                "--json",
            )
        finally:
            stop.set()
            thread.join()
    assert code == exit_code
    if exit_code == EXIT_OK:
        assert out["code"] == expect
        assert "scan any code now" in err
    else:
        assert expect in out["message"] and out["error"] == "ScannerDataError"


def test_selftest_scanner_that_never_answers(capsys: pytest.CaptureFixture[str]) -> None:
    with ScannerEmulator() as emu:
        code, out, _ = run(
            capsys, "selftest", emu.path, "--kind", "scanner", "--timeout", "0.3", "--json"
        )
    assert code == EXIT_FAULT
    assert out["error"] == "DeviceTimeout" and "within 0.3 s" in out["message"]


def test_selftest_needs_kind_for_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "selftest", "/dev/ttyUSB9")
    assert code == 2 and "--kind is needed" in err


def test_selftest_printer_prints_the_test_page(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from hardware.emulators.printer import start_pty_emulator

    emulator = start_pty_emulator(tmp_path)
    try:
        code, out, err = run(capsys, "selftest", emulator.address, "--kind", "printer", "--json")
    finally:
        emulator.close()
    assert code == EXIT_OK, err
    assert out["outcome"] == "printed"
    assert "[3/3] print the self-test page" in err
    assert list(tmp_path.glob("*.png"))


def _video(path: Path, image: np.ndarray) -> str:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (320, 240))
    for _ in range(5):
        writer.write(image)
    writer.release()
    return str(path)


def test_selftest_camera_scores_focus(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import cv2

    yy, xx = np.mgrid[0:240, 0:320]
    board = (((yy // 20) + (xx // 20)) % 2 * 200 + 30).astype(np.uint8)
    sharp = cv2.cvtColor(board, cv2.COLOR_GRAY2BGR)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 4)
    scores = []
    for name, image in (("sharp.avi", sharp), ("blurred.avi", blurred)):
        code, out, err = run(
            capsys,
            "selftest",
            _video(tmp_path / name, image),
            "--kind",
            "camera",
            "--timeout",
            "10",
            "--json",
        )
        assert code == EXIT_OK, err
        assert (out["width"], out["height"]) == (320, 240)
        scores.append(out["focus"])
    assert scores[0] > 2 * scores[1]  # the technician sees which one is out of focus
    assert out["documents"] == []  # and that 320x240 resolves no document's print
    code, out, _ = run(capsys, "selftest", "/dev/video97", "--kind", "camera", "--json")
    assert code == EXIT_ABSENT


# --- live commands as subprocesses ----------------------------------------------------------------


def _spawn(*argv: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*BILIK, "hw", *argv],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def _line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    data: dict[str, Any] = json.loads(line)
    return data


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream is not None:
                stream.close()


def test_emulate_pole_prints_its_port_and_the_screen() -> None:
    proc = _spawn("emulate", "pole", "--json")
    try:
        started = _line(proc)
        assert started["event"] == "started" and started["kind"] == "pole-cd5220"
        port = open_port(started["port"])
        try:
            PoleDisplay(port, PoleEncoder(PoleCommandSet.CD5220), started["port"]).show_call(
                Call("A012", "3")
            )
        finally:
            port.close()
        while True:
            event = _line(proc)
            if event["lines"][1].startswith("A012 to Booth 3"):
                break
        assert event["lines"][0] == "A012 ke Bilik 3     "
    finally:
        assert _stop(proc) == EXIT_OK


def test_emulate_scanner_injects_codes_typed_on_stdin() -> None:
    import asyncio

    from hardware.scanner import SerialScanner

    proc = _spawn("emulate", "scanner", "--json", stdin=subprocess.PIPE)
    try:
        started = _line(proc)

        async def scan() -> str:
            async with SerialScanner(started["port"]) as scanner:
                assert proc.stdin is not None
                proc.stdin.write("A012\n")
                proc.stdin.flush()
                return await scanner.read(TIMEOUT)

        assert asyncio.run(scan()) == "A012"
        assert _line(proc) == {"event": "scanned", "code": "A012"}
    finally:
        assert _stop(proc) == EXIT_OK


def test_watch_reports_a_device_going_away(tmp_path: Path) -> None:
    emu = PoleEmulator()
    cfg = config(tmp_path, queue_display=emu.path)
    proc = _spawn("watch", "--config", cfg, "--interval", "0.05", "--count", "2", "--json")
    try:
        first = _line(proc)
        assert (first["event"], first["health"]) == ("health", DeviceHealth.OK)
        emu.close()  # the pty disappears, like a pulled cable
        second = _line(proc)
        assert (second["role"], second["health"]) == ("queue_display", DeviceHealth.ABSENT)
        assert proc.wait(TIMEOUT) == EXIT_OK
    finally:
        emu.close()
        _stop(proc)


# --- quality ------------------------------------------------------------------


def test_quality_delegates_to_the_quality_gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    garbage = tmp_path / "not-an-image.png"
    garbage.write_bytes(b"\x89PNG garbage")
    code, out, _ = run(capsys, "quality", str(garbage), "--json")
    assert out["results"][0]["verdict"] == "unreadable"
    assert code != EXIT_OK


def test_quality_judges_as_the_document_kind_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import cv2

    from hardware.quality.scenes import generate

    scene = next(iter(generate(4, kinds=("kk",), sizes=("1080p",), cases=("sharp",))))
    page = tmp_path / "kk.jpg"
    cv2.imwrite(str(page), scene.image)
    code, out, _ = run(capsys, "quality", "--document", "kk", str(page), "--json")
    assert code == EXIT_OK, out
    (result,) = out["results"]
    assert (result["path"], result["verdict"], result["kind"]) == (str(page), "accept", "kk")
    # The same family card judged as an ID card does not have an ID card's shape.
    code, out, _ = run(capsys, "quality", str(page), "--json")
    assert out["results"][0]["verdict"] == "reject" and code != EXIT_OK
