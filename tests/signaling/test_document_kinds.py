"""The branch server serves the document kinds and checklists, and refuses to start with a
service that has no checklist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bilik.errors import ConfigError
from signaling.app import make_app
from signaling.config import ServerConfig
from signaling.queue.rules import QueueRules
from tests.signaling.conftest import Branch


async def test_kinds_and_checklists_are_served(branch: Branch, http: aiohttp.ClientSession
                                               ) -> None:
    async with http.get(branch.url("/api/document-kinds")) as r:
        assert r.status == 200
        data = await r.json()
    assert data["kinds"]["ktp"]["width_mm"] == 85.6
    assert data["kinds"]["kk"]["material"] == "paper"
    assert {"jht", "jp", "jkk", "jkm"} <= set(data["checklists"])
    jp = [i.get("document") for i in data["checklists"]["jp"]]
    assert "termination" not in jp and "pension_form" in jp


def test_a_service_without_a_checklist_stops_the_server_at_start(tmp_path: Path) -> None:
    rules = QueueRules(services={"jht": "A", "jkp": "E"})
    with pytest.raises(ConfigError, match=r"queue\.services: no checklist for service\(s\) jkp"):
        make_app(ServerConfig(data_dir=tmp_path), queue_rules=rules)


def test_the_server_command_says_so_in_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "server.toml"
    conf.write_text('[queue]\nservices = { jht = "A", jkp = "E" }\n')
    proc = subprocess.run(
        [sys.executable, "-m", "bilik.cli", "server", "--config", str(conf),
         "--data-dir", str(tmp_path / "data"), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("bilik server: error:") and "jkp" in last
