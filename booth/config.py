"""Settings of the booth agent (``[booth]`` in booth.toml, ``BILIK_BOOTH_*``, flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bilik.agent.settings import DeviceSettings
from bilik.config import setting
from bilik.themes import TextSize, ThemeName
from bilik.webrtc import limits as media


@dataclass(frozen=True)
class BoothConfig(DeviceSettings):
    source: str = setting(
        "testpattern",
        "Video source: the moving test pattern encoded live, or a pre-encoded VP8 loop",
        choices=("testpattern", "replay"),
    )
    replay_file: Path | None = setting(
        None, "IVF file of VP8 frames for source = replay (its out-of-focus loop, "
        "NAME.small.ivf, beside it; both written by `bilik booth make-replay`)"
    )
    fps: int = setting(media.VIDEO_FPS, "Frames a second sent", min=1, max=30)
    width: int = setting(media.VIDEO_WIDTH, "Picture width in pixels", min=640, max=1920)
    height: int = setting(media.VIDEO_HEIGHT, "Picture height in pixels", min=240, max=1080)
    flow: str = setting(
        "ticket",
        "ticket: wait for a ticket QR and claim it through the queue (production); direct: "
        "ask for any officer at once (demo, call benchmark)",
        choices=("direct", "ticket"),
    )
    ice_addresses: list[str] = setting(
        [], "Interfaces, addresses or networks ICE may use for calls (e.g. eth0 or "
        "192.168.10.0/24: the branch LAN; 127.0.0.1 in tests); empty: every address but "
        "loopback"
    )
    camera: str = setting(
        "testpattern", "Booth camera: testpattern, or an OpenCV device (index or /dev/videoN)"
    )
    microphone: str = setting("silence", "Microphone: silence, or alsa:<device>")
    speaker: str = setting(
        "null",
        "Loudspeaker for the officer's voice: null (taken, not played: tests, the demo), "
        "default (the system's sound output, through PortAudio), device:<PortAudio device "
        "name or index>, or wav:<file> (a recording of what would be played)",
    )
    speaker_required: bool = setting(
        False,
        "A speaker that fails its self-test takes the booth out of service; otherwise the "
        "fault is only reported (Status detail) and the booth serves without sound",
    )
    document_camera: str = setting(
        "none",
        "Document camera: none, an OpenCV device (index or /dev/videoN), or a directory "
        "of images to replay (emulator)",
    )
    document_camera_size: str = setting(
        "1920x1080",
        "Frame size asked of a document camera device: a page's print needs at least "
        "1920x1080 (1280x720 resolves ID cards only); 3264x2448 for an 8 MP camera",
        choices=("1280x720", "1920x1080", "2592x1944", "3264x2448"),
    )
    ticket_camera: bool = setting(
        True,
        "Ticket flow: also read the ticket's QR with the document camera while the welcome "
        "screen is up (the face camera stays off while the booth is idle)",
    )
    printer: str = setting(
        "", "Receipt printer address (serial:/dev/ttyUSB0, tcp:HOST, socket://...); empty: none"
    )
    reader: str = setting("", "Ticket QR reader: serial port path or pyserial URL; empty: none")
    data_dir: Path = setting(
        Path("booth-data"), "Where the booth keeps its state file and the document spool"
    )
    screen: str = setting(
        "off", "Booth screen: off (headless), window (full screen), or a directory for PNGs"
    )
    hand_button: str = setting(
        "", "Serial hand button (path or pyserial URL, hardware/button.py); empty: none "
        "(the space key on the booth screen still raises the hand)")
    read_aloud: bool = setting(
        True, "Read each instruction on the booth screen aloud (the R key repeats it; the "
        "officer's voice always has priority)")
    speech_voice: str = setting("id", "espeak-ng voice the instructions are read with")
    theme: str = setting(
        "standard", "Colours of the booth screen (both reach 7:1 contrast; docs/booth.md)",
        choices=tuple(t.value for t in ThemeName),
    )
    text_size: str = setting("normal", "Text size of the booth screen's instructions",
                             choices=tuple(t.value for t in TextSize))
    goodbye_s: float = setting(20.0, "Seconds the goodbye screen stays", min=1.0, max=600.0)
    consent: bool = setting(
        False, "Ask the participant's consent to the recording of the session when the "
        "booth is paired for a ticket, before the officer joins (docs/recording.md)")
