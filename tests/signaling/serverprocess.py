"""``bilik server`` as a real process on loopback, for the tests and the benchmarks.

One supervisor for test_server_process (kill -9), test_crash (crash points) and bench/abuse.py
(the abuse run): it starts the server on a free port, waits for ``/healthz``, issues tokens
from the data directory's secret, and stops or kills it. It stays with the tests: the product's
way to run a server is ``bilik server`` itself, which this drives unchanged.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

from signaling import crashpoint, tokens
from tests.signaling.conftest import Device

START_S = 60.0  # generous: the machine is shared with other test runs
STOP_S = 15.0


def bilik(*args: str) -> list[str]:
    """The command line of ``bilik ARGS`` in this interpreter."""
    return [sys.executable, "-m", "bilik.cli", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One ``bilik server --data-dir DATA`` on 127.0.0.1; its output goes to ``log``."""

    def __init__(self, data: Path, *, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.port = free_port()
        self.log = data.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # Settings for the test run (BILIK_SERVER_*), over the environment's.
        self.env = {"BILIK_SERVER_RESUME_WINDOW_S": "120", **(env or {})}

    def start(self) -> None:
        """Start it and wait until ``/healthz`` answers; RuntimeError with the log if not."""
        env = {**os.environ, **self.env}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                bilik("server", "--data-dir", str(self.data), "--host", "127.0.0.1",
                      "--port", str(self.port)),
                stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + START_S
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.url("/healthz"), timeout=2).close()
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + self.log.read_text()[-2000:])
            time.sleep(0.1)

    def start_at(self, point: str = "") -> None:
        """Start it with a crash point armed (signaling.crashpoint), or none."""
        old = os.environ.get(crashpoint.ENV)
        os.environ[crashpoint.ENV] = point
        try:
            self.start()
        finally:
            if old is None:
                del os.environ[crashpoint.ENV]
            else:
                os.environ[crashpoint.ENV] = old

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def token(self, role: str, device: str, ttl_s: float = 86400) -> str:
        """A token signed with the data directory's secret (created if there is none)."""
        secret = tokens.load_or_create_secret(self.data)
        return tokens.issue(secret, device, role, now=time.time(), ttl_s=ttl_s)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def wait_dead(self) -> None:
        assert self.proc is not None
        self.proc.wait(timeout=30)

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def failures_logged(self) -> int:
        text = self.log.read_text(errors="replace")
        return text.count("Traceback") + text.count(" ERROR ")


def cli_token(data: Path, role: str, device_id: str) -> str:
    """A token from ``bilik server token`` (which creates the secret if there is none)."""
    out = subprocess.run(bilik("server", "token", "--role", role, "--id", device_id,
                               "--data-dir", str(data)),
                         capture_output=True, text=True, timeout=START_S)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


async def hello(http: aiohttp.ClientSession, server: ServerProcess, device_id: str,
                token: str) -> Device:
    """A device connected to the server process and welcomed (asking to resume)."""
    ws = await http.ws_connect(f"ws://127.0.0.1:{server.port}/ws", autoping=False)
    device = Device(ws, device_id)
    await device.send({"type": "hello", "token": token, "resume": True})
    device.welcome = await device.recv()
    assert device.welcome["type"] == "welcome", device.welcome
    return device
