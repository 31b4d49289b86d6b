"""``bilik hub`` from the command line and the hub's HTTP side: help, config, clear errors."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bilik.cli import main
from officer.config import HubConfig
from officer.errors import OfficerError
from officer.hub import Hub


def test_help_names_the_essential_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["hub", "--help"])
    out = capsys.readouterr().out
    for flag in ("--server", "--token-file", "--id", "--config", "--metrics-port", "--max-booths"):
        assert flag in out


def test_config_prints_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hub", "config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[hub]") and "max_booths = 6" in out and "BILIK_HUB_METRICS_PORT" in out


def test_more_than_six_booths_is_refused_naming_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["hub", "--token", "x", "--max-booths", "7"]) == 1
    err = capsys.readouterr().err
    assert "--max-booths" in err and "<= 6" in err


def test_no_token_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hub"]) == 1
    assert "no device token" in capsys.readouterr().err


@pytest.fixture
async def hub_http() -> AsyncIterator[Hub]:
    # Nothing listens at this server URL: the hub's HTTP side works without a server.
    hub = Hub(HubConfig(server="ws://127.0.0.1:9/ws", metrics_port=0), "bk1.a.b")
    await hub._start_http()
    try:
        yield hub
    finally:
        await hub.stop()


async def test_healthz_and_metrics_answer_before_the_server_is_reached(hub_http: Hub) -> None:
    base = f"http://127.0.0.1:{hub_http.metrics_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as reply:
            health = await reply.json()
        assert health["status"] == "degraded" and health["slots_free"] == 6
        assert health["booths"] == {}
        async with http.get(f"{base}/metrics") as reply:
            text = await reply.text()
        assert "bilik_hub_slots_free 6.0" in text and "bilik_hub_loop_lag_seconds" in text
        async with http.get(f"{base}/healthz?since_ms=yesterday") as reply:
            assert reply.status == 400
            assert "since_ms" in await reply.text()


async def test_a_busy_metrics_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        hub = Hub(HubConfig(metrics_port=port), "bk1.a.b")
        with pytest.raises(OfficerError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            await hub._start_http()
        await hub.stop()
