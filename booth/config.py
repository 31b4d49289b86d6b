"""Settings of the booth agent (``[booth]`` in booth.toml, ``BILIK_BOOTH_*``, flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bilik.config import setting
from bilik.webrtc import limits as media


@dataclass(frozen=True)
class BoothConfig:
    server: str = setting("ws://127.0.0.1:8765/ws", "WebSocket URL of the branch server")
    token: str | None = setting(
        None, "Device token (prefer token_file: tokens in files stay out of ps)"
    )
    token_file: Path | None = setting(None, "File holding the device token")
    id: str | None = setting(
        None, "Expected device id; the agent refuses to run if its token names another"
    )
    source: str = setting(
        "testpattern",
        "Video source: the moving test pattern encoded live, or a pre-encoded VP8 loop",
        choices=("testpattern", "replay"),
    )
    replay_file: Path | None = setting(None, "IVF file of VP8 frames for source = replay")
    fps: int = setting(media.VIDEO_FPS, "Frames a second sent", min=1, max=30)
    width: int = setting(media.VIDEO_WIDTH, "Picture width in pixels", min=640, max=1920)
    height: int = setting(media.VIDEO_HEIGHT, "Picture height in pixels", min=240, max=1080)
