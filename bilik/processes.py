"""A group of child processes that start together and stop together, leaving no orphan.

Used by ``bilik demo`` and by tests that run a branch as real processes;
:class:`BranchProcesses` (a server, its tokens and a group) is the branch of the call tests,
the call benchmarks and the journey test. Each child
runs ``python -m bilik.cli ...`` in its own process group; stopping sends SIGTERM,
waits, then SIGKILLs what is left, so Ctrl-C on the parent never strands a child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

log = logging.getLogger(__name__)

STOP_GRACE_S = 8.0  # a child gets this long to close its peers and sockets after SIGTERM


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    """``sig`` to the child's process group when it leads one (as :meth:`ProcessGroup.start`
    makes it), else to the child alone (one a caller put into ``procs`` itself): a signal that
    reaches nobody would leave :meth:`ProcessGroup.stop` waiting for ever."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


class ProcessGroup:
    def __init__(self, log_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = {**os.environ, **(env or {})}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    def bilik(self, name: str, *args: str, json_logs: bool = True) -> subprocess.Popen[bytes]:
        """Start ``bilik ARGS...`` as child ``name``, logging to ``<log_dir>/<name>.log``."""
        cmd = [sys.executable, "-m", "bilik.cli", *(["--log-json"] if json_logs else []), *args]
        return self.start(name, cmd)

    def start(self, name: str, cmd: list[str], *,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start any command as child ``name``, logging to ``<log_dir>/<name>.log``.

        Its stdin is /dev/null: a child reading the terminal would steal the user's keys.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(out)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, cwd=cwd,
                                stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        self.procs[name] = proc
        log.info("started", extra={"fields": {"name": name, "pid": proc.pid}})
        return proc

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def dead(self) -> dict[str, int]:
        """Children that exited, with their exit codes."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def stop(self, name: str | None = None, *, sig: int = signal.SIGTERM) -> None:
        names = [name] if name else list(self.procs)
        for n in names:
            proc = self.procs.get(n)
            if proc is not None and proc.poll() is None:
                _signal(proc, sig)
        deadline = time.monotonic() + STOP_GRACE_S
        for n in names:
            proc = self.procs.get(n)
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("child did not stop in time; killing", extra={"fields": {"name": n}})
                _signal(proc, signal.SIGKILL)
                proc.wait()
            if name is not None:
                del self.procs[n]

    def close(self) -> None:
        self.stop()
        self.procs.clear()
        for out in self._logs:
            out.close()
        self._logs.clear()

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> Any:
    """The JSON at ``url`` on this machine, or None while it cannot be had."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.loads(reply.read())
    except (OSError, ValueError):
        return None


class BranchProcesses:
    """A branch run as ``bilik`` child processes on loopback, as an installer starts it: the
    server on an ephemeral port, its data directory, tokens for its devices, and a
    :class:`ProcessGroup` for the children (each logs to ``<log_dir>/<name>.log``; ``log_dir``
    is ``root`` unless given). The call tests and the call benchmark run a hub and booths on
    it (the hub's ``/healthz`` on ``hub_port`` is the window into the calls); the journey
    test adds a kiosk, a display and the devices' emulators."""

    def __init__(self, root: Path, *, env: dict[str, str] | None = None,
                 log_dir: Path | None = None) -> None:
        self.root = root
        self.data = root / "server"
        self.port = free_port()
        self.hub_port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws"
        self.http = f"http://127.0.0.1:{self.port}"
        self.group = ProcessGroup(log_dir or root, env=env)
        self.env = self.group.env

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        """The children still in the group, by name."""
        return self.group.procs

    @staticmethod
    def command(*args: str) -> list[str]:
        return [sys.executable, "-m", "bilik.cli", "--log-json", *args]

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``bilik ARGS...`` as child ``name``."""
        return self.group.bilik(name, *args)

    def token_file(self, role: str, device: str, timeout: float = 120.0) -> Path:
        """A token for ``device`` from ``bilik server token``, in a file beside the logs."""
        out = subprocess.run(
            self.command("server", "token", "--role", role, "--id", device,
                         "--data-dir", str(self.data)),
            check=True, capture_output=True, env=self.env, timeout=timeout,
        )
        path = self.root / f"{device}.token"
        path.write_text(out.stdout.decode().strip())
        return path

    def server_up(self) -> Any:
        return get_json(f"{self.http}/healthz")

    def health(self, since_ms: int | None = None) -> dict[str, Any] | None:
        """The hub's ``/healthz`` (booths, frames, latency), or None while it is not up."""
        query = f"?since_ms={since_ms}" if since_ms is not None else ""
        result: dict[str, Any] | None = get_json(
            f"http://127.0.0.1:{self.hub_port}/healthz{query}")
        return result

    def dead(self) -> dict[str, int]:
        """Children that exited, with their exit codes."""
        return self.group.dead()

    def stop(self) -> None:
        """SIGTERM to every child's process group, SIGKILL to what is left after the grace
        (:data:`STOP_GRACE_S`); the logs are closed."""
        self.group.close()
