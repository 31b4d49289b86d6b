"""A booth served by a hub over TLS, every part a `bilik` process as an installer runs it.

The branch CA is made with ``bilik server ca init``, each device enrols with a one-time
code (``bilik server enroll`` on the server, ``bilik ROLE enroll CODE`` on the device) and
then runs with mutual TLS only: no token anywhere. The call reaches the hub; then
``bilik server revoke booth-01`` cuts the booth off and it cannot come back.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bilik.processes import free_port
from tests import helpers

pytestmark = pytest.mark.slow

START_S = 60.0  # generous: processes importing aiortc on a shared two-core machine


def wait_for(check: Callable[[], Any], what: str, timeout: float = START_S) -> Any:
    return helpers.wait_for(check, what, timeout)


class TlsBranch:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "server"
        self.port = free_port()
        self.hub_port = free_port()
        self.url = f"wss://127.0.0.1:{self.port}/ws"
        self.ca_file = self.data / "ca" / "ca.pem"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # No development switch here: everything speaks TLS.
        self.env = {k: v for k, v in os.environ.items() if not k.endswith("INSECURE_PLAINTEXT")}
        self.env["BILIK_SERVER_HEARTBEAT_S"] = "1.0"

    def bilik(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bilik.cli", "--log-json", *args]

    def run(self, *args: str) -> str:
        out = subprocess.run(self.bilik(*args), capture_output=True, env=self.env,
                             timeout=START_S, check=False)
        assert out.returncode == 0, out.stderr.decode()
        return out.stdout.decode()

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen(self.bilik(*args), stdout=log, stderr=log, env=self.env)
        log.close()
        self.procs[name] = proc
        return proc

    def device_flags(self, device: str) -> list[str]:
        home = self.root / device
        return ["--server", self.url, "--ca-file", str(self.ca_file),
                "--cert-file", str(home / "device.pem"), "--key-file", str(home / "device.key")]

    def enrol(self, role: str, device: str) -> None:
        code = json.loads(self.run("server", "enroll", "--role", role, "--id", device,
                                   "--by", "ani", "--data-dir", str(self.data), "--json"))["code"]
        said = self.run(role, "enroll", code, *self.device_flags(device))
        assert f"enrolled as {device} ({role})" in said, said

    def https_json(self, url: str) -> Any:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as reply:
                return json.loads(reply.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def hub_health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.hub_port}/healthz",
                                        timeout=5) as reply:
                result: dict[str, Any] = json.loads(reply.read())
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return {}

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()


@pytest.fixture
def branch(tmp_path: Path) -> Iterator[TlsBranch]:
    b = TlsBranch(tmp_path)
    try:
        yield b
    finally:
        b.stop_all()


def test_a_booth_is_served_by_a_hub_over_mutual_tls_until_it_is_revoked(
        branch: TlsBranch) -> None:
    # Without a CA the server refuses to start rather than serve in clear.
    out = subprocess.run(branch.bilik("server", "--data-dir", str(branch.data), "--port",
                                      str(branch.port)),
                         capture_output=True, env=branch.env, timeout=START_S, check=False)
    assert out.returncode == 1 and b"bilik server ca init" in out.stderr
    said = branch.run("server", "ca", "init", "--data-dir", str(branch.data))
    assert "127.0.0.1, localhost" in said
    branch.spawn("server", "server", "--data-dir", str(branch.data), "--port", str(branch.port))
    wait_for(lambda: branch.https_json(f"https://127.0.0.1:{branch.port}/healthz"),
             "the server over https")

    branch.enrol("hub", "hub-01")
    branch.enrol("booth", "booth-01")
    branch.spawn("hub", "hub", *branch.device_flags("hub-01"), "--metrics-port",
                 str(branch.hub_port), "--synthetic-officer", "--inspect-video")
    branch.spawn("booth", "booth", *branch.device_flags("booth-01"), "--flow", "direct")
    wait_for(lambda: branch.hub_health().get("booths", {}).get("booth-01", {}).get(
        "frames", 0) >= 15, "the booth's video at the hub")

    said = branch.run("server", "revoke", "booth-01", "--by", "ani", "--data-dir",
                      str(branch.data))
    assert "booth-01 revoked" in said
    wait_for(lambda: "booth-01 is revoked" in branch.log("booth")
             or "certificate of booth-01 is revoked" in branch.log("booth"),
             "the booth told it is revoked")
    wait_for(lambda: "booth-01" not in branch.hub_health().get("booths", {}),
             "the booth's call gone from the hub", timeout=START_S)
