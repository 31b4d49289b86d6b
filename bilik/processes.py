"""A group of child processes that start together and stop together, leaving no orphan.

Used by ``bilik demo`` and by tests that run a branch as real processes. Each child
runs ``python -m bilik.cli ...`` in its own process group; stopping sends SIGTERM,
waits, then SIGKILLs what is left, so Ctrl-C on the parent never strands a child.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

log = logging.getLogger(__name__)

STOP_GRACE_S = 8.0  # a child gets this long to close its peers and sockets after SIGTERM


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

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        """Start any command as child ``name``, logging to ``<log_dir>/<name>.log``.

        Its stdin is /dev/null: a child reading the terminal would steal the user's keys.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(out)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
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
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
        deadline = time.monotonic() + STOP_GRACE_S
        for n in names:
            proc = self.procs.get(n)
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("child did not stop in time; killing", extra={"fields": {"name": n}})
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
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
