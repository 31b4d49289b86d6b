"""The ticket kiosk agent over a real branch server, printing to the printer emulator on a pty.

The kiosk is the real agent (its SignalingClient, the printer driver through pyserial, the
scanner driver, its HTTP control endpoint); the server is the real branch server on an
ephemeral port; hubs and booths are raw sockets (tests/signaling/conftest.Device).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from pyzbar.pyzbar import decode as zbar_decode

from bilik.catalogue import text
from bilik.errors import ConfigError
from frontdesk.kiosk import Kiosk, KioskConfig, KioskResult, Outcome
from frontdesk.kiosk_commands import (
    CheckInCode,
    CommandError,
    Help,
    Reprint,
    TakeTicket,
    booking_code,
    parse_command,
)
from frontdesk.ticket_slip import TicketSlip, render_slip, wait_message, wait_minutes
from hardware.emulators.escpos_parse import EscposParser, QrCode
from hardware.emulators.printer import Fault, PrintedJob, PtyPrinterEmulator, start_pty_emulator
from hardware.emulators.scanner import ScannerEmulator
from signaling.config import ServerConfig
from tests.signaling.conftest import REPLY_S, Branch, Device, wait_until

SERVICES = ["jht", "jkk", "jkm", "jp"]
BranchFactory = Callable[..., Awaitable[Branch]]


# -- a real branch, shared with tests/frontdesk/test_queue_display.py ----------------------


@contextlib.asynccontextmanager
async def branch_factory(data_dir: Path) -> AsyncIterator[BranchFactory]:
    """``await start(**config)`` starts a branch server on ``data_dir``; again after a stop."""
    async with aiohttp.ClientSession() as http:
        started: list[Branch] = []

        async def start(**settings: Any) -> Branch:
            settings.setdefault("data_dir", data_dir)
            settings.setdefault("port", 0)
            branch = Branch(dataclasses.replace(ServerConfig(), **settings), http)
            started.append(branch)
            return await branch.start()

        try:
            yield start
        finally:
            for branch in started:
                await branch.stop()


async def hub_online(branch: Branch, hub_id: str = "hub-01") -> Device:
    hub = await branch.connect(hub_id, "hub")
    reply = await hub.request({"type": "capacity", "slots": 6, "officer": "o-1"})
    assert reply["type"] == "ok", reply
    return hub


async def import_booking(branch: Branch, code: str, in_s: float = 600.0) -> None:
    slot = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + in_s))
    csv = f"code,service,slot,branch,name\n{code},jht,{slot},kc-01,Siti\n"
    async with branch.http.post(
        branch.url("/api/queue/appointments"), data=csv.encode(),
        headers={"Authorization": f"Bearer {branch.token('admin', 'ops-1')}",
                 "Content-Type": "text/csv"},
    ) as reply:
        assert reply.status == 200, await reply.text()


async def device_health(branch: Branch, device: str) -> dict[str, Any]:
    async with branch.http.get(
        branch.url("/api/devices"),
        headers={"Authorization": f"Bearer {branch.token('admin', 'ops-1')}"},
    ) as reply:
        assert reply.status == 200
        rows = (await reply.json())["devices"]
    for row in rows:
        if row["id"] == device:
            health = row["health"]
            return health if isinstance(health, dict) else {}
    return {}


def decode_qr(job: PrintedJob) -> list[str]:
    with Image.open(job.png) as image:
        return [d.data.decode() for d in zbar_decode(image)]


@contextlib.asynccontextmanager
async def running_kiosk(branch: Branch, **settings: Any) -> AsyncIterator[Kiosk]:
    settings.setdefault("control_port", None)
    settings.setdefault("printer_recheck_s", 0.2)
    # The emulator draws each page (PIL, QR) before it answers the status query after the
    # job; on a busy machine that takes longer than a real printer's instant reply.
    settings.setdefault("printer_status_timeout_s", REPLY_S)
    config = KioskConfig(server=branch.ws_url, **settings)
    kiosk = Kiosk(config, branch.token("kiosk", "kiosk-01"))
    await kiosk.start()
    try:
        await kiosk.wait_connected(REPLY_S)
        yield kiosk
    finally:
        await kiosk.stop()


@pytest.fixture
async def start_branch(tmp_path: Path) -> AsyncIterator[BranchFactory]:
    async with branch_factory(tmp_path / "server") as start:
        yield start


@pytest.fixture
async def branch(start_branch: BranchFactory) -> Branch:
    return await start_branch()


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PtyPrinterEmulator]:
    emulator = start_pty_emulator(tmp_path / "printer")
    yield emulator
    emulator.close()


async def jobs(printer: PtyPrinterEmulator, count: int) -> list[PrintedJob]:
    return await asyncio.to_thread(printer.wait_for_jobs, count, REPLY_S)


# -- over the real server ----------------------------------------------------------------------


async def test_a_walk_in_ticket_prints_the_servers_qr_and_the_booth_claims_it(
    branch: Branch, printer: PtyPrinterEmulator
) -> None:
    await hub_online(branch)
    async with running_kiosk(branch, printer=printer.address) as kiosk:
        result = await kiosk.take_ticket("jht")
        assert (result.outcome, result.number, result.service) == (Outcome.PRINTED, "A001", "jht")
        assert result.qr.startswith("BILIK1:T:")
        [job] = await jobs(printer, 1)
        assert decode_qr(job) == [result.qr]  # what is on paper is what the server issued
        assert "A001" in job.text and "Layanan / Service:" in job.text
        assert text("frontdesk.wait_next").both() in job.text  # nobody ahead, a booth free soon
        assert printer.parse_errors == []

        booth = await branch.connect("booth-01", "booth")
        await booth.expect("called", number="A001")
        reply = await booth.request({"type": "claim", "qr": decode_qr(job)[0]})
        assert reply["type"] == "ok", reply
        await booth.expect("pair")


async def test_a_priority_ticket_states_the_people_ahead_and_an_honest_wait(
    branch: Branch, printer: PtyPrinterEmulator
) -> None:
    async with running_kiosk(branch, printer=printer.address) as kiosk:
        first = await kiosk.take_ticket("jht")  # no booth, no officer: people wait
        second = await kiosk.take_ticket("jkk", "pregnant")
        assert (first.number, second.number) == ("A001", "B001")
        printed = await jobs(printer, 2)
        assert "Prioritas: ibu hamil / Priority: pregnant" in printed[1].text
        wait = wait_message(second.expected_wait_s, second.ahead)
        assert second.wait == wait
        for line in (wait.id, wait.en):  # long lines print in each language on its own
            assert line in printed[1].text.replace("\n", " ")
        assert decode_qr(printed[1]) == [second.qr]


async def test_refusals_print_nothing_and_show_the_catalogue_reason(
    branch: Branch, printer: PtyPrinterEmulator
) -> None:
    await import_booking(branch, "BK-1001")
    async with running_kiosk(branch, printer=printer.address) as kiosk:
        checked = await kiosk.check_in("BK-1001")
        assert checked.outcome is Outcome.PRINTED and checked.number == "R001"
        assert checked.slot is not None
        [job] = await jobs(printer, 1)
        assert "Jadwal Anda" in job.text and decode_qr(job) == [checked.qr]
        queries = printer.core.status_queries

        again = await kiosk.check_in("BK-1001")
        assert again.outcome is Outcome.REFUSED and not again.issued
        assert again.message == text("queue.booking_used")
        assert again.code == "check_in_refused" and "already checked in" in again.detail
        unknown = await kiosk.check_in("BK-9999")
        assert unknown.message == text("queue.booking_unknown")
        service = await kiosk.take_ticket("nope")
        assert (service.outcome, service.message) == (
            Outcome.REFUSED, text("queue.unknown_service"))
        # Not one byte went to the printer for any refusal.
        assert printer.core.status_queries == queries and len(printer.jobs) == 1
        assert kiosk.last == service
        with pytest.raises(CommandError, match="unknown priority"):
            await kiosk.take_ticket("jht", "vip")
        with pytest.raises(CommandError, match="not a booking code"):
            await kiosk.check_in("BK 1001; DROP")


async def test_paper_out_is_reported_and_the_number_is_still_given(
    branch: Branch, printer: PtyPrinterEmulator
) -> None:
    async with running_kiosk(branch, printer=printer.address) as kiosk:
        printer.set_faults(Fault.PAPER_OUT)
        result = await kiosk.take_ticket("jht")
        assert result.outcome is Outcome.PRINT_FAILED and result.issued
        assert result.number == "A001" and result.qr.startswith("BILIK1:T:")
        assert result.message == text("frontdesk.print_failed", number="A001")
        assert "paper out" in result.detail
        assert printer.jobs == []
        await wait_until(lambda: _health_is(branch, "printer", "error"), "printer=error at server")

        printer.set_faults()  # paper refilled: the kiosk notices by itself
        await wait_until(lambda: _health_is(branch, "printer", "ok"), "printer=ok at server")
        again = await kiosk.reprint()
        assert again is not None and again.outcome is Outcome.PRINTED and again.number == "A001"
        [job] = await jobs(printer, 1)
        assert decode_qr(job) == [result.qr]
        assert await kiosk.reprint() is None  # nothing left to reprint


async def _health_is(branch: Branch, part: str, value: str) -> bool:
    return (await device_health(branch, "kiosk-01")).get(part) == value


async def test_an_absent_printer_is_reported_and_tickets_are_still_issued(
    branch: Branch, tmp_path: Path
) -> None:
    async with running_kiosk(branch, printer=f"serial:{tmp_path}/no-such-tty") as kiosk:
        result = await kiosk.take_ticket("jht")
        assert result.outcome is Outcome.PRINT_FAILED and result.number == "A001"
        assert "No such file or directory" in result.detail
        await wait_until(lambda: _health_is(branch, "printer", "error"), "printer=error")


async def test_the_server_unreachable_means_no_ticket_and_says_so(tmp_path: Path) -> None:
    config = KioskConfig(server="ws://127.0.0.1:9/ws", control_port=None)
    kiosk = Kiosk(config, "token")
    await kiosk.start()
    try:
        result = await kiosk.take_ticket("jht")
    finally:
        await kiosk.stop()
    assert result.outcome is Outcome.OFFLINE and not result.issued and result.number == ""
    assert result.message == text("frontdesk.offline")


async def test_scanned_booking_codes_check_in_and_garbage_is_told_apart(
    branch: Branch, printer: PtyPrinterEmulator
) -> None:
    await import_booking(branch, "BK-2002")
    shown: list[KioskResult] = []
    scanner = ScannerEmulator()
    try:
        async with running_kiosk(branch, printer=printer.address, scanner=scanner.path) as kiosk:
            kiosk.on_show = shown.append
            await wait_until(lambda: kiosk._scanner is not None, "scanner open")
            scanner.inject_raw(b"\x00\x9f\xff\r\n")
            await wait_until(lambda: shown, "garbage reported")
            assert shown[-1].message == text("frontdesk.code_unreadable")
            scanner.scan("BILIK1:T:kc-01:20240101-A001:abc")
            await wait_until(lambda: len(shown) == 2, "ticket QR told apart")
            assert shown[-1].message == text("frontdesk.ticket_not_here")
            scanner.scan("BK-2002")
            await wait_until(lambda: len(shown) == 3, "check-in by scan")
            assert shown[-1].outcome is Outcome.PRINTED and shown[-1].number == "R001"
            [job] = await jobs(printer, 1)
            assert decode_qr(job) == [shown[-1].qr]
    finally:
        scanner.close()


async def test_a_scanner_plugged_back_in_is_reopened_and_reads_again(
    branch: Branch, printer: PtyPrinterEmulator, tmp_path: Path
) -> None:
    await import_booking(branch, "BK-2002")
    shown: list[KioskResult] = []
    link = tmp_path / "scanner"  # the by-id name the kiosk is configured with
    scanner = ScannerEmulator(link=link)
    try:
        async with running_kiosk(branch, printer=printer.address, scanner=str(link)) as kiosk:
            kiosk.on_show = shown.append
            await wait_until(lambda: _health_is(branch, "scanner", "ok"), "scanner=ok")
            scanner.unplug()
            await wait_until(lambda: _health_is(branch, "scanner", "error"), "scanner=error")
            scanner = ScannerEmulator(link=link)  # plugged back in
            await wait_until(lambda: _health_is(branch, "scanner", "ok"), "scanner=ok again",
                             timeout=60.0)
            scanner.scan("BK-2002")
            await wait_until(lambda: shown, "check-in by scan")
            assert shown[-1].outcome is Outcome.PRINTED and shown[-1].number == "R001"
    finally:
        scanner.close()


async def test_the_control_endpoint_issues_tickets_for_a_demo_script(
    branch: Branch, printer: PtyPrinterEmulator
) -> None:
    async with running_kiosk(branch, printer=printer.address, control_port=0) as kiosk, \
            aiohttp.ClientSession() as http:
        assert kiosk.control_url is not None and kiosk.control_url.startswith("http://127.0.0.1:")
        async with http.post(f"{kiosk.control_url}/ticket",
                             json={"service": "jht", "priority": "elderly"}) as reply:
            assert reply.status == 200
            body = await reply.json()
        assert (body["outcome"], body["number"], body["issued"]) == ("printed", "A001", True)
        [job] = await jobs(printer, 1)
        assert decode_qr(job) == [body["qr"]]
        async with http.post(f"{kiosk.control_url}/ticket", json={"service": "nope"}) as reply:
            assert reply.status == 409
            assert (await reply.json())["text"]["key"] == "queue.unknown_service"
        for bad in ({"service": 3}, [1], {"service": "jht", "priority": "vip"}):
            async with http.post(f"{kiosk.control_url}/ticket", json=bad) as reply:
                assert reply.status == 400, bad
        async with http.post(f"{kiosk.control_url}/ticket", data=b"\xff{") as reply:
            assert reply.status == 400
        async with http.post(f"{kiosk.control_url}/check-in", json={"code": "BK-0"}) as reply:
            assert reply.status == 409
        async with http.get(f"{kiosk.control_url}/status") as reply:
            status = await reply.json()
        assert status["connected"] and status["device"] == "kiosk-01"
        assert status["health"] == {"printer": "ok"}
        assert len(printer.jobs) == 1


async def test_help_alerts_the_officers_once_and_scanned_codes_are_told_apart(
    branch: Branch,
) -> None:
    hub = await hub_online(branch)
    async with running_kiosk(branch, control_port=0, help_hold_s=5.0) as kiosk, \
            aiohttp.ClientSession() as http:
        for _ in range(2):  # pressed twice: one alert while the call is up
            async with http.post(f"{kiosk.control_url}/help") as reply:
                assert reply.status == 200
                assert (await reply.json())["text"]["key"] == "frontdesk.kiosk_help_called"
        alert = await hub.expect("alert", kind="help_requested")
        assert alert["subject"] == "kiosk-01" and "help" in alert["detail"]
        assert kiosk.health.parts["help"] == "requested"
        async with http.post(f"{kiosk.control_url}/scan",
                             json={"code": "BILIK1:T:kc-01:20240101-A001:abc"}) as reply:
            assert reply.status == 409
            assert (await reply.json())["text"]["key"] == "frontdesk.ticket_not_here"
        async with http.post(f"{kiosk.control_url}/scan", json={"code": "BK 1; x"}) as reply:
            assert (await reply.json())["text"]["key"] == "frontdesk.code_unreadable"
        async with http.get(f"{kiosk.control_url}/state") as reply:
            state = await reply.json()
        assert [s["key"] for s in state["services"]] == SERVICES
        assert state["labels"]["help"] == [text("frontdesk.kiosk_help").id,
                                           text("frontdesk.kiosk_help").en]
        # The kiosk reported its health again meanwhile (a round trip after both presses):
        # one call for help, one alert in the audit log.
        await kiosk.take_ticket("jht")
        async with http.get(branch.url("/api/audit?limit=500"), headers={
                "Authorization": f"Bearer {branch.token('admin', 'ops-1')}"}) as reply:
            entries = (await reply.json())["entries"]
        assert [e["subject"] for e in entries if e["action"] == "help_requested"] == [
            "kiosk-01"]


async def test_the_control_endpoint_refuses_to_listen_beyond_this_machine(
    branch: Branch,
) -> None:
    config = KioskConfig(server=branch.ws_url, control_host="0.0.0.0", control_port=0)
    kiosk = Kiosk(config, branch.token("kiosk", "kiosk-01"))
    try:
        with pytest.raises(ConfigError, match="not a loopback address"):
            await kiosk.start()
    finally:
        await kiosk.stop()


async def test_bilik_kiosk_process_takes_commands_on_stdin_and_http(
    branch: Branch, tmp_path: Path
) -> None:
    token = tmp_path / "kiosk.token"
    token.write_text(branch.token("kiosk", "kiosk-01"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bilik.cli", "kiosk", "--server", branch.ws_url,
        "--token-file", str(token), "--control-port", "0",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        url = ""
        while not url:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, "the kiosk exited"
            if line.startswith("control endpoint: "):
                url = line.split(": ", 1)[1].strip()
        proc.stdin.write(b"jht\nbogus\njkk disabled\n")
        await proc.stdin.drain()
        seen: list[str] = []
        while len(seen) < 3:
            line = (await asyncio.wait_for(proc.stdout.readline(), REPLY_S)).decode()
            if line.startswith(("[", "?")):
                seen.append(line.strip())
        assert seen[0].startswith("[not_printed] Nomor antrean Anda: A001 / Your queue number")
        assert seen[1].startswith("? unknown command or service 'bogus'")
        assert seen[2].startswith("[not_printed] Nomor antrean Anda: B001")
        async with aiohttp.ClientSession() as http, \
                http.post(f"{url}/ticket", json={"service": "jht"}) as reply:
            assert (await reply.json())["number"] == "A002"
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0


# -- pure parts --------------------------------------------------------------------------------


def test_the_wait_is_rounded_up_never_down() -> None:
    assert [wait_minutes(s) for s in (0, 1, 60, 61, 599, 600, 601, 1000, 1801)] == [
        1, 1, 1, 2, 10, 10, 15, 20, 35]
    assert wait_message(30, 0) == text("frontdesk.wait_next")
    assert wait_message(30, 2) == text("queue.expected_wait", minutes=1)
    assert wait_message(700, 0).id == "Perkiraan waktu tunggu sekitar 15 menit"
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="expected wait"):
            wait_minutes(bad)


def test_the_slip_carries_every_line_and_the_qr() -> None:
    at = datetime(2024, 5, 2, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    slip = TicketSlip("A017", "jht", at, "BILIK1:T:kc-01:20240502-A017:tok", 1500.0, 4,
                      "elderly")
    events = EscposParser().feed(render_slip(slip))
    assert [e.data for e in events if isinstance(e, QrCode)] == [slip.qr.encode()]
    assert [m.key for m in slip.messages()] == [
        "frontdesk.your_number", "frontdesk.service_jht", "frontdesk.priority_elderly",
        "queue.expected_wait", "queue.ahead"]
    assert slip.messages()[3].en == "Expected wait about 25 minutes"
    with pytest.raises(ValueError, match="qr_payload must be printable ASCII"):
        TicketSlip("A017", "jht", at, "QR\x00", 0.0, 0)
    with pytest.raises(ValueError, match="number is empty"):
        TicketSlip(" ", "jht", at, "QR", 0.0, 0)
    with pytest.raises(ValueError, match="priority"):
        TicketSlip("A017", "jht", at, "QR", 0.0, 0, "vip")


def test_console_lines_and_scanned_codes() -> None:
    assert parse_command("jht", SERVICES) == TakeTicket("jht")
    assert parse_command("  JKK   Elderly ", SERVICES) == TakeTicket("jkk", "elderly")
    assert parse_command("code BK-1001", SERVICES) == CheckInCode("BK-1001")
    assert parse_command("reprint", SERVICES) == Reprint()
    assert parse_command("help", SERVICES) == Help()
    assert parse_command("   ", SERVICES) is None
    for line, problem in (
        ("nope", "unknown command or service 'nope'"),
        ("jht vip", "unknown priority 'vip'"),
        ("jht elderly now", "usage: jht"),
        ("code", "usage: code"),
        ("code BK 1", "usage: code"),
        ("code " + "X" * 40, "not a booking code"),
    ):
        with pytest.raises(CommandError, match=problem):
            parse_command(line, SERVICES)
    assert booking_code(" BK-7\r") == "BK-7"
    with pytest.raises(CommandError, match="queue ticket"):
        booking_code("BILIK1:T:kc-01:x:y")
