"""The queue display agent over a real branch server: TV page, pole and LED emulators on ptys.

The whole front of house runs for real: a kiosk agent prints to the printer emulator, a
booth (raw socket) claims with the QR decoded from the printed page, and the display
agent's TV page (a real WebSocket client) and pole emulator show the call, then clear it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from frontdesk.calls_board import CallsBoard, booth_short, led_line, pole_lines
from frontdesk.queue_display import DisplayAgent, DisplayConfig
from hardware.displays.led import LedFraming
from hardware.displays.pole import PoleCommandSet
from hardware.emulators.led import LedEmulator
from hardware.emulators.pole import PoleEmulator, PoleScreen
from hardware.emulators.printer import start_pty_emulator
from signaling import protocol as p
from signaling.branchqueue import QUEUE_KEY
from signaling.queue import events as ev
from tests.frontdesk.test_kiosk import (
    BranchFactory,
    branch_factory,
    decode_qr,
    device_health,
    hub_online,
    jobs,
    running_kiosk,
)
from tests.signaling.conftest import REPLY_S, Branch, Device, wait_until

RESTART_S = 30.0  # the client's reconnect backoff is capped at 10 s; leave room on a busy box


@pytest.fixture
async def start_branch(tmp_path: Path) -> AsyncIterator[BranchFactory]:
    async with branch_factory(tmp_path / "server") as start:
        yield start


@pytest.fixture
def pole() -> Iterator[PoleEmulator]:
    emulator = PoleEmulator(PoleCommandSet.CD5220)
    yield emulator
    emulator.close()


async def pole_shows(pole: PoleEmulator, top: str, timeout: float = REPLY_S) -> list[str]:
    def check(screen: PoleScreen) -> bool:
        return screen.lines()[0].strip() == top

    if not await asyncio.to_thread(pole.wait_for, check, timeout):
        raise AssertionError(f"pole shows {pole.lines()}, expected {top!r} on top")
    return pole.lines()


class Tv:
    """A TV browser's WebSocket to the display agent's page."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def until(self, check: Callable[[list[dict[str, Any]]], bool],
                    timeout: float = REPLY_S) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), max(0.01, deadline - time.monotonic()))
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            calls: list[dict[str, Any]] = msg.json()["calls"]
            if check(calls):
                return calls


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def tv(http: aiohttp.ClientSession, agent: DisplayAgent) -> Tv:
    assert agent.tv_url is not None
    return Tv(await http.ws_connect(agent.tv_url + "ws"))


async def walk_in(kiosk: Device, service: str) -> dict[str, Any]:
    sent = await kiosk.send({"type": "ticket_request", "service": service})
    return await kiosk.expect("ticket_info", ref=sent)


def display(branch: Branch, **settings: Any) -> DisplayAgent:
    settings.setdefault("tv_port", 0)
    settings.setdefault("speak", False)  # spoken calls: tests/browser/test_tv_speech.py
    return DisplayAgent(DisplayConfig(server=branch.ws_url, **settings),
                        branch.token("display", "display-01"))


async def test_a_printed_ticket_is_called_to_its_booth_and_cleared_when_claimed(
    start_branch: BranchFactory, pole: PoleEmulator, http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    branch = await start_branch()
    led = LedEmulator(LedFraming(), 1)
    printer = start_pty_emulator(tmp_path / "printer")
    agent = display(branch, pole=pole.path, led=led.path)
    try:
        await agent.start()
        await agent.wait_connected(REPLY_S)
        await pole_shows(pole, "Silakan ambil nomor")
        screen = await tv(http, agent)
        await screen.until(lambda calls: calls == [])
        await hub_online(branch)
        async with running_kiosk(branch, printer=printer.address) as kiosk:
            ticket = await kiosk.take_ticket("jht")
        [job] = await jobs(printer, 1)
        booth = await branch.connect("booth-01", "booth")

        calls = await screen.until(lambda calls: bool(calls))
        assert calls == [{"ticket": "A001", "booth": "1", "id": "A001 ke Bilik 1",
                          "en": "A001 to Booth 1"}]
        assert await pole_shows(pole, "A001 ke Bilik 1") == [
            "A001 ke Bilik 1".ljust(20), "A001 to Booth 1".ljust(20)]
        assert await asyncio.to_thread(led.wait_for, lambda s: s.text == "A001   1", REPLY_S)

        await booth.expect("called", number="A001")
        reply = await booth.request({"type": "claim", "qr": decode_qr(job)[0]})
        assert reply["type"] == "ok" and ticket.qr == decode_qr(job)[0]
        await screen.until(lambda calls: calls == [])
        await pole_shows(pole, "Silakan ambil nomor")
        assert await asyncio.to_thread(led.wait_for, lambda s: s.text.strip() == "", REPLY_S)
        health = await wait_until(lambda: _health(branch), "display health at the server")
        assert health == {"pole": "ok", "led": "ok", "tv": "ok"}
        await screen.ws.close()
    finally:
        await agent.stop()
        led.close()
        printer.close()


async def _health(branch: Branch) -> dict[str, Any]:
    return await device_health(branch, "display-01")


async def test_newest_call_on_top_and_a_recall_moves_back_up(
    start_branch: BranchFactory, pole: PoleEmulator, http: aiohttp.ClientSession,
) -> None:
    branch = await start_branch()
    now = [time.time()]
    branch.server.clock = lambda: now[0]
    agent = display(branch, pole=pole.path)
    try:
        await agent.start()
        await agent.wait_connected(REPLY_S)
        screen = await tv(http, agent)
        await hub_online(branch)
        kiosk = await branch.connect("kiosk-01", "kiosk")
        for _ in range(2):
            await walk_in(kiosk, "jht")
        queue = branch.app[QUEUE_KEY]
        await branch.connect("booth-01", "booth")
        await screen.until(lambda calls: len(calls) == 1)
        now[0] += queue.rules.claim_timeout_s / 2
        await branch.connect("booth-02", "booth")
        calls = await screen.until(lambda calls: len(calls) == 2)
        assert [(c["ticket"], c["booth"]) for c in calls] == [("A002", "2"), ("A001", "1")]
        await pole_shows(pole, "A002 ke Bilik 2")

        now[0] += queue.rules.claim_timeout_s / 2 + 1  # only A001 is due: recalled, on top
        await queue.handle(ev.Tick(), actor="test")
        calls = await screen.until(lambda calls: bool(calls) and calls[0]["ticket"] == "A001")
        assert [c["ticket"] for c in calls] == ["A001", "A002"]
        await pole_shows(pole, "A001 ke Bilik 1")
        assert len(calls) == 2  # a recall does not duplicate a call
        await screen.ws.close()
    finally:
        await agent.stop()


async def test_the_display_shows_offline_during_a_server_restart_and_comes_back(
    start_branch: BranchFactory, pole: PoleEmulator, http: aiohttp.ClientSession,
) -> None:
    with socket.socket() as s:  # a fixed port, so the restarted server is at the same URL
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    branch = await start_branch(port=port)
    agent = display(branch, pole=pole.path)
    try:
        await agent.start()
        await agent.wait_connected(REPLY_S)
        await pole_shows(pole, "Silakan ambil nomor")
        screen = await tv(http, agent)
        await screen.until(lambda calls: calls == [])

        await branch.stop()
        assert await asyncio.to_thread(
            pole.wait_for, lambda s: s.lines() == [
                "Menyambung ulang...".center(20), "Reconnecting...".center(20)], REPLY_S)
        closed = await asyncio.wait_for(screen.ws.receive(), REPLY_S)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                               aiohttp.WSMsgType.ERROR)  # the page shows its offline band
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(agent.tv_url + "ws")  # type: ignore[operator]
        assert refused.value.status == 503
        async with http.get(agent.tv_url or "") as page:  # the page itself still loads
            assert page.status == 200 and "Reconnecting..." in await page.text()

        again = await start_branch(port=port)
        await wait_until(lambda: agent.client.connected, "display reconnected", RESTART_S)
        await pole_shows(pole, "Silakan ambil nomor")
        screen = await tv(http, agent)
        await screen.until(lambda calls: calls == [])
        await hub_online(again)
        kiosk = await again.connect("kiosk-01", "kiosk")
        await walk_in(kiosk, "jkm")
        await again.connect("booth-04", "booth")
        calls = await screen.until(lambda calls: bool(calls))
        assert (calls[0]["ticket"], calls[0]["booth"]) == ("C001", "4")
        await pole_shows(pole, "C001 ke Bilik 4")
        assert agent.client.connects == 2
        await screen.ws.close()
    finally:
        await agent.stop()


async def test_a_pole_that_goes_away_is_reported_and_the_rest_keeps_going(
    start_branch: BranchFactory, http: aiohttp.ClientSession,
) -> None:
    branch = await start_branch()
    pole = PoleEmulator(PoleCommandSet.CD5220)
    agent = display(branch, pole=pole.path)
    try:
        await agent.start()
        await agent.wait_connected(REPLY_S)
        await pole_shows(pole, "Silakan ambil nomor")
        screen = await tv(http, agent)
        pole.close()  # unplugged
        await hub_online(branch)
        kiosk = await branch.connect("kiosk-01", "kiosk")
        await walk_in(kiosk, "jht")
        await branch.connect("booth-02", "booth")
        calls = await screen.until(lambda calls: bool(calls))
        assert calls[0]["id"] == "A001 ke Bilik 2"
        health = await wait_until(
            lambda: _pole_error(branch), "pole=error at the server")
        assert health["tv"] == "ok"
        await screen.ws.close()
    finally:
        await agent.stop()
        pole.close()


async def _pole_error(branch: Branch) -> dict[str, Any] | None:
    health = await device_health(branch, "display-01")
    return health if health.get("pole") == "error" else None


async def test_a_pole_plugged_back_in_is_reopened_and_shows_the_calls_again(
    start_branch: BranchFactory, tmp_path: Path,
) -> None:
    branch = await start_branch()
    link = tmp_path / "pole"  # the by-id name the display is configured with
    pole = PoleEmulator(PoleCommandSet.CD5220, link=link)
    agent = display(branch, pole=str(link), tv=False)
    try:
        await agent.start()
        await agent.wait_connected(REPLY_S)
        await pole_shows(pole, "Silakan ambil nomor")
        pole.close()  # unplugged
        await hub_online(branch)
        kiosk = await branch.connect("kiosk-01", "kiosk")
        await walk_in(kiosk, "jht")
        await branch.connect("booth-02", "booth")
        await wait_until(lambda: _pole_error(branch), "pole=error at the server")
        pole = PoleEmulator(PoleCommandSet.CD5220, link=link)  # plugged back in
        # Reopened after its backoff, at the display's next render: the current call again.
        await pole_shows(pole, "A001 ke Bilik 2", timeout=RESTART_S)
        await wait_until(lambda: _pole_ok(branch), "pole=ok at the server", timeout=RESTART_S)
    finally:
        await agent.stop()
        pole.close()


async def _pole_ok(branch: Branch) -> bool:
    return (await device_health(branch, "display-01")).get("pole") == "ok"


# -- the pure board ----------------------------------------------------------------------------


def _called(number: str, booth: int, attempt: int = 0) -> p.Called:
    return p.Called(ticket=f"t-{number}", number=number, booth=f"booth-{booth:02d}",
                    label=f"Bilik {booth}", attempt=attempt)


def test_the_board_keeps_newest_first_recalls_on_top_and_clears() -> None:
    board = CallsBoard(max_calls=3, max_age_s=100.0)
    assert board.apply(_called("A001", 1), 0.0)
    assert board.apply(_called("A002", 2), 1.0)
    assert [c.number for c in board.calls] == ["A002", "A001"]
    assert board.apply(_called("A001", 1, attempt=1), 2.0)  # recall: back on top, once
    assert [(c.number, c.attempt) for c in board.calls] == [("A001", 1), ("A002", 0)]
    # A ticket moved to another booth is called there; the late "moved" clear of the
    # old booth does not take the new call away.
    board.apply(_called("A002", 3), 3.0)
    assert not board.apply(p.Cleared(number="A002", booth="booth-02", reason="moved"), 4.0)
    assert [(c.number, c.booth) for c in board.calls] == [
        ("A002", "booth-03"), ("A001", "booth-01")]
    assert board.apply(p.Cleared(number="A001", booth="booth-01", reason="claimed"), 5.0)
    assert not board.apply(p.Cleared(number="A009", reason="no_show"), 5.0)
    assert not board.apply(p.Ok(), 5.0)
    for n in range(4, 9):
        board.apply(_called(f"B00{n}", n), float(n))
    assert [c.number for c in board.calls] == ["B008", "B007", "B006"]  # bounded


def test_stale_calls_expire_and_bad_calls_change_nothing() -> None:
    board = CallsBoard(max_age_s=60.0)
    board.called(number="A001", booth="booth-01", label="Bilik 1", now=0.0)
    board.called(number="A002", booth="booth-02", label="Bilik 2", now=30.0)
    assert not board.expire(59.0)
    assert board.expire(60.0) and [c.number for c in board.calls] == ["A002"]
    before = board.calls
    with pytest.raises(ValueError, match="needs a number and a booth"):
        board.called(number=" ", booth="booth-03", label="Bilik 3", now=61.0)
    assert board.calls == before
    with pytest.raises(ValueError, match="bad board limits"):
        CallsBoard(max_calls=0)


def test_what_each_output_shows() -> None:
    board = CallsBoard()
    assert pole_lines(board.calls, True, 20) == ("Silakan ambil nomor".ljust(20),
                                                 "Please take a number".ljust(20))
    assert pole_lines(board.calls, False, 20)[1] == "Reconnecting...".center(20)
    assert led_line(board.calls, True, 8) is None
    assert led_line(board.calls, False, 8) == "--------"
    board.called(number="A012", booth="booth-12", label="Bilik 12", now=0.0)
    assert pole_lines(board.calls, True, 20) == ("A012 ke Bilik 12".ljust(20),
                                                 "A012 to Booth 12".ljust(20))
    assert led_line(board.calls, True, 8) == "A012  12"
    assert (booth_short("Bilik 3"), booth_short("bilik  07 "), booth_short("Loket A")) == (
        "3", "07", "Loket A")


async def test_bilik_display_process_reads_its_config_and_drives_the_led(
    start_branch: BranchFactory, http: aiohttp.ClientSession, tmp_path: Path,
) -> None:
    branch = await start_branch()
    framing = LedFraming(checksum="sum8", width=10)
    led = LedEmulator(framing, 7)
    token = tmp_path / "display.token"
    token.write_text(branch.token("display", "display-01"))
    conf = tmp_path / "branch.toml"
    conf.write_text(
        f'[display]\nserver = "{branch.ws_url}"\ntoken_file = "{token}"\nled = "{led.path}"\n'
        'tv_port = 0\n\n[hardware]\nled_checksum = "sum8"\nled_width = 10\nled_address = 7\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bilik.cli", "display", "--config", str(conf),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("TV page: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        async with http.get(url) as page:
            assert page.status == 200
        await hub_online(branch)
        kiosk = await branch.connect("kiosk-01", "kiosk")
        await walk_in(kiosk, "jht")
        await branch.connect("booth-03", "booth")
        assert await asyncio.to_thread(led.wait_for, lambda s: s.text == "A001     3", 30)
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        led.close()
