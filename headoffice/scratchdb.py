"""A throw-away PostgreSQL server for the tests and the benchmark: initdb in a temporary
directory, run by the ``postgres`` system user when we are root (PostgreSQL refuses to run as
root), on 127.0.0.1 and a free port, with Debian's binaries (/usr/lib/postgresql/*/bin).
Never for production data: fsync is off."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from headoffice.errors import DatabaseUnavailable

START_S = 60.0


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise DatabaseUnavailable("PostgreSQL is not installed (scripts/setup.sh installs "
                                      "Debian's postgresql)")
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="bilik-pg-"))
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=START_S, check=False)

    def start(self) -> None:
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        done = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                         "--no-sync", "-E", "UTF8", "--locale", "C")
        if done.returncode != 0:
            raise DatabaseUnavailable(f"initdb failed: {done.stderr}")
        # fsync off: the tests kill head-office processes, never this server.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        done = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                         str(self.root / "postgres.log"), "-w", "-t", str(int(START_S)), "start")
        if done.returncode != 0:
            log = (self.root / "postgres.log").read_text() if (
                self.root / "postgres.log").exists() else ""
            raise DatabaseUnavailable(f"pg_ctl start failed: {done.stderr}\n{log}")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
