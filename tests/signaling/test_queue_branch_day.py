"""The branch-day simulator drives the real scheduler core over a (short) day."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("branch_day", ROOT / "bench" / "branch_day.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["branch_day"] = module
    spec.loader.exec_module(module)
    return module


branch_day = _bench()


def short_model(tmp_path: Path, **changes: Any) -> Path:
    model = json.loads((ROOT / "bench" / "models" / "default_day.json").read_text())
    model.update({"last_ticket": "09:30", "close": "10:00", "officers": 2})
    model["appointments"].update({"first_slot": "08:15", "last_slot": "09:30"})
    model.update(changes)
    path = tmp_path / "day.json"
    path.write_text(json.dumps(model))
    return path


def test_more_booths_per_officer_serve_more_claims_from_the_same_day(tmp_path: Path) -> None:
    model = branch_day.load_model(short_model(tmp_path))
    k1 = branch_day.BranchDay(model, 1, seed=7)
    r1 = k1.run()
    r4 = branch_day.BranchDay(model, 4, seed=7).run()
    assert r1["booths"] == 2 and r4["booths"] == 8
    assert 0 < r1["claims"] < r4["claims"]
    assert r4["officer_utilisation"] > r1["officer_utilisation"]
    # The claims counted are the sessions the scheduler closed, one per participant served.
    closed = [d for _, _, ds in k1.journal for d in ds if d.KIND.value == "session_closed"]
    assert r1["claims"] == len(closed) == len({d.ticket for d in closed})
    k1.sched.check_invariants()


def test_same_seed_same_day(tmp_path: Path) -> None:
    model = branch_day.load_model(short_model(tmp_path))
    a = branch_day.BranchDay(model, 2, seed=3).run()
    b = branch_day.BranchDay(model, 2, seed=3).run()
    assert a == b


def test_cli_prints_json_with_the_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = short_model(tmp_path)
    assert branch_day.main(["--model", str(path), "--booths-per-officer", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["k"] for r in out["results"]] == [2]
    assert {"cpu", "cores", "python", "platform"} <= set(out["machine"])
    for key in (
        "claims_per_officer_hour",
        "wait_p50_s",
        "wait_p95_s",
        "appointment_lateness_p95_s",
        "appointments_within_5_min",
        "officer_utilisation",
    ):
        assert key in out["results"][0]


def test_a_broken_model_is_refused_with_the_key_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = short_model(
        tmp_path, session=[{"step": "x", "who": "robot", "dist": "fixed", "mean": 1}]
    )
    assert branch_day.main(["--model", str(path)]) == 2
    assert "session[0].who" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{")
    assert branch_day.main(["--model", str(tmp_path / "bad.json")]) == 2
    assert "not JSON" in capsys.readouterr().err
