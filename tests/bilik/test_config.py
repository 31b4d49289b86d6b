"""One TOML file per role, overridden by the environment and flags; bad values named precisely."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bilik import config as cfg
from bilik.cli import main
from bilik.errors import ConfigError
from scripts.config_reference import ROLES, render
from signaling.config import ServerConfig
from signaling.queue.rules import QueueRules


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[queue]\nrecalls = 2\n')
    env = {"BILIK_SERVER_PORT": "9100"}
    loaded = cfg.load(ServerConfig, "server", path=path, env=env)
    assert (loaded.host, loaded.port) == ("0.0.0.0", 9100)
    flagged = cfg.load(ServerConfig, "server", path=path, env=env, overrides={"port": 9200,
                                                                              "host": None})
    assert (flagged.host, flagged.port) == ("0.0.0.0", 9200)
    assert cfg.load(QueueRules, "queue", path=path, env={}).recalls == 2


@pytest.mark.parametrize(
    ("toml", "env", "key", "problem"),
    [
        ("[server]\nport = 70000\n", {}, "server.port", "too large; expected int >= 0 <= 65535"),
        ('[server]\nport = "x"\n', {}, "server.port", "'x' is not allowed; expected int"),
        ("[server]\nheartbeat_s = 0.01\n", {}, "server.heartbeat_s", "too small"),
        ("[server]\nportt = 1\n", {}, "server.portt", "unknown setting; known:"),
        ("[server]\n", {"BILIK_SERVER_RESUME_WINDOW_S": "soon"}, "BILIK_SERVER_RESUME_WINDOW_S",
         "'soon' is not allowed; expected float"),
        ("[server]\nport = \n", {}, "server.toml", "not valid TOML"),
    ],
)
def test_an_invalid_value_names_the_key_and_what_is_allowed(
    tmp_path: Path, toml: str, env: dict[str, str], key: str, problem: str
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        cfg.load(ServerConfig, "server", path=path, env=env)
    assert key in str(caught.value) and problem in str(caught.value)


def test_a_missing_file_is_one_clear_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "--config", str(tmp_path / "nope.toml"), "token", "--role", "booth",
                 "--id", "booth-01", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "nope.toml: file not found" in err and "Traceback" not in err


@pytest.mark.parametrize("role", ROLES, ids=[r[0] for r in ROLES])
def test_every_described_default_file_loads_back_to_the_defaults(
    tmp_path: Path, role: tuple[str, str, str, str, str]
) -> None:
    import importlib

    section, module, name = role[:3]
    cls = getattr(importlib.import_module(module), name)
    text = cfg.describe(cls, section)
    tomllib.loads(text)  # a valid file
    path = tmp_path / "role.toml"
    path.write_text(text)
    assert cfg.load(cls, section, path=path, env={}) == cls()


def test_the_configuration_reference_is_current() -> None:
    committed = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert committed == render(), "run: .venv/bin/python scripts/config_reference.py"


@pytest.mark.parametrize("role", ROLES, ids=[r[0] for r in ROLES])
def test_the_example_files_for_real_hardware_are_valid(
    role: tuple[str, str, str, str, str]
) -> None:
    import importlib

    section, module, name, file = role[:4]
    example = Path(__file__).parents[2] / "docs" / "examples" / file
    if not example.exists():
        example = Path(__file__).parents[2] / "docs" / "examples" / "booth.toml"
    cls = getattr(importlib.import_module(module), name)
    cfg.load(cls, section, path=example, env={})  # raises ConfigError naming any bad key
