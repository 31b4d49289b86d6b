"""The branch day model of ``bench/branch_day.py``: the JSON file read and checked (every
problem named by its key), the duration distributions sampled, local clock times, and the
simulated participants and officers.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from signaling.queue.rules import QueueRules

DISTS = ("fixed", "normal", "lognormal", "exponential")


class ModelError(ValueError):
    """The day model file is not usable; the message names the key."""


def load_model(path: Path) -> dict[str, Any]:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(model, dict):
        raise ModelError(f"{path}: expected an object")
    for key in (
        "date",
        "utc_offset_min",
        "open",
        "last_ticket",
        "close",
        "officers",
        "officer_skills",
        "service_mix",
        "walk_ins",
        "appointments",
        "session",
        "walk_to_booth_s",
        "leave_booth_s",
        "miss_first_call",
        "faults",
    ):
        if key not in model:
            raise ModelError(f"{path}: missing key {key!r}")
    if not isinstance(model["officers"], int) or not 1 <= model["officers"] <= 50:
        raise ModelError("officers: expected a whole number 1..50")
    for i, step in enumerate(model["session"]):
        if step.get("who") not in ("officer", "self"):
            raise ModelError(f"session[{i}].who: expected 'officer' or 'self'")
        _check_dist(f"session[{i}]", step)
    for key in ("walk_to_booth_s", "leave_booth_s"):
        _check_dist(key, model[key])
    _check_dist("appointments.arrive_before_slot_s", model["appointments"]["arrive_before_slot_s"])
    _check_dist("faults.booth_repair_s", model["faults"]["booth_repair_s"])
    _check_dist("faults.hub_outage_s", model["faults"]["hub_outage_s"])
    mix = model["service_mix"]
    if not mix or any(s not in QueueRules().services for s in mix):
        raise ModelError(f"service_mix: service types must be among {list(QueueRules().services)}")
    return model


def _check_dist(where: str, spec: Any) -> None:
    if not isinstance(spec, dict) or spec.get("dist") not in DISTS:
        raise ModelError(f"{where}.dist: expected one of {', '.join(DISTS)}")
    if not isinstance(spec.get("mean"), int | float):
        raise ModelError(f"{where}.mean: expected a number of seconds")
    if spec["dist"] in ("normal", "lognormal") and not isinstance(spec.get("sd"), int | float):
        raise ModelError(f"{where}.sd: expected a number of seconds")


def sample(spec: dict[str, Any], rng: random.Random) -> float:
    mean = float(spec["mean"])
    kind = spec["dist"]
    if kind == "fixed":
        return mean
    if kind == "exponential":
        return rng.expovariate(1.0 / mean)
    sd = float(spec["sd"])
    if kind == "normal":
        return rng.gauss(mean, sd)
    sigma2 = math.log(1 + (sd / mean) ** 2)  # lognormal with this mean and standard deviation
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


def local_ts(model: dict[str, Any], hhmm: str) -> float:
    tz = timezone(timedelta(minutes=model["utc_offset_min"]))
    day = datetime.fromisoformat(model["date"]).replace(tzinfo=tz)
    h, m = (int(x) for x in hhmm.split(":"))
    return (day + timedelta(hours=h, minutes=m)).timestamp()


# --- the simulated people ---------------------------------------------------------------


@dataclass
class Person:
    steps: list[tuple[str, float]]  # (who, seconds)
    leaves: bool  # walked out before being called
    miss_first_call: bool
    appointment: str | None = None
    ticket: str = ""
    qr: str = ""
    step: int = 0
    phase: str = "idle"  # idle | self | queued | attended
    gen: int = 0  # bumped on every call and move: stale timers are ignored


@dataclass
class Officer:
    hub: str
    online: bool = True
    queue: deque[str] = field(default_factory=deque)  # booths asking for attention
    current: str | None = None
    gen: int = 0
    focus: str | None = None  # what the scheduler was last told
