"""Settings of the officer hub (``[hub]`` in hub.toml, ``BILIK_HUB_*``, flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bilik.agent.settings import DeviceSettings
from bilik.config import setting
from officer import limits


@dataclass(frozen=True)
class HubConfig(DeviceSettings):
    max_booths: int = setting(
        limits.MAX_BOOTHS, "Booths served at once", min=1, max=limits.MAX_BOOTHS
    )
    media_offline_s: float = setting(
        limits.MEDIA_OFFLINE_TIMEOUT_S,
        "Seconds without video from a booth before its slot is freed",
        min=0.5,
        max=300.0,
    )
    lost_grace_s: float | None = setting(
        None,
        "Seconds a booth whose video stopped keeps its slot (tile marked lost) before it is "
        "freed; unset: the branch server's resume window",
        min=0.0,
        max=600.0,
    )
    ice_addresses: list[str] = setting(
        [], "Interfaces, addresses or networks ICE may use for booth calls and the console "
        "(e.g. eth0 or 192.168.10.0/24: the branch LAN, with 127.0.0.1 for the console on "
        "this PC); empty: every address but loopback"
    )
    inspect_video: bool = setting(
        False, "Decode every booth's video at the hub to read its timecode (latency figures "
        "for tests and benchmarks; costs CPU). Off: video is forwarded to the console "
        "undecoded and the hub counts frames as they arrive"
    )
    synthetic_officer: bool = setting(
        False, "With no console media connected, send the synthetic officer (a moving test "
        "pattern and a tone) to the focused booth: the headless demo, tests and benchmarks. "
        "Off (production): the focused booth gets the card and silence until the officer's "
        "console connects its camera and microphone"
    )
    console_idle_s: float = setting(
        limits.CONSOLE_IDLE_S, "Seconds without the officer's input at the console (a key, "
        "the mouse, an action) before the officer is signed out; 0: never", min=0.0,
        max=86_400.0,
    )
    metrics_host: str = setting(
        "127.0.0.1", "Address of the hub's console, /metrics and /healthz (keep it on localhost)"
    )
    metrics_port: int = setting(
        limits.METRICS_PORT,
        "Port of the hub's console (/console/), /metrics and /healthz (0: any free port)",
        min=0,
        max=65535,
    )
    record: bool = setting(
        True, "Record a session (both directions' audio and video, not re-encoded) once the "
        "participant accepted at the booth; off: never record (docs/recording.md)")
    recording_dir: Path = setting(
        Path("var/hub/recordings"), "Where recordings are written until the branch server "
        "has them")
