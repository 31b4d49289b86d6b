"""Settings of the branch server (``[server]`` in server.toml, ``BILIK_SERVER_*``, flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bilik.config import setting
from signaling import limits


@dataclass(frozen=True)
class ServerConfig:
    host: str = setting("127.0.0.1", "Address to listen on (0.0.0.0 for the branch LAN)")
    port: int = setting(8765, "TCP port for the device WebSocket, HTTP API and metrics",
                        min=0, max=65535)
    data_dir: Path = setting(Path("var/server"), "Directory for the database and the secret")
    branch: str = setting("kc-01", "This branch's id, printed in ticket QR codes (letters, "
                          "digits, '-')")
    hub_failover_s: float = setting(
        5.0, "An officer hub gone this many seconds has its booths re-paired with other hubs",
        min=0.5, max=600.0,
    )
    heartbeat_s: float = setting(
        limits.HEARTBEAT_INTERVAL_S,
        "WebSocket ping period; a device missing a pong is offline within 1.5 times this",
        min=0.2, max=300.0,
    )
    resume_window_s: float = setting(
        limits.RESUME_WINDOW_S, "A device back within this many seconds keeps its pairings",
        min=0.0, max=3600.0,
    )
    hello_timeout_s: float = setting(
        limits.HELLO_TIMEOUT_S, "Seconds a new connection has to authenticate", min=0.1, max=600.0
    )
    header_read_s: float = setting(
        limits.HEADER_READ_S, "Seconds an HTTP request's headers may take once begun",
        min=0.1, max=600.0,
    )
    frame_assembly_s: float = setting(
        limits.FRAME_ASSEMBLY_S, "Seconds a WebSocket message may take to arrive once begun",
        min=0.1, max=600.0,
    )
    max_connections_per_address: int = setting(
        limits.MAX_CONNECTIONS_PER_ADDRESS,
        "Open connections one client address may hold (a branch LAN has one per device)",
        min=1, max=100000,
    )
    max_frame_bytes: int = setting(
        limits.MAX_FRAME_BYTES, "Largest WebSocket frame accepted (close code 1009 beyond)",
        min=4096, max=16 * 1024 * 1024,
    )
    rate_per_s: float = setting(limits.RATE_PER_S, "Sustained messages a second per device",
                                min=1.0, max=100000.0)
    rate_burst: int = setting(limits.RATE_BURST, "Messages a device may send in a burst",
                              min=1, max=100000)
    rate_drop_limit: int = setting(
        limits.RATE_DROP_LIMIT, "Messages dropped for rate before the device is disconnected",
        min=1, max=1000000,
    )
    bad_message_limit: int = setting(
        limits.BAD_MESSAGE_LIMIT,
        "Malformed messages a device may send within a minute before it is disconnected",
        min=1, max=1000000,
    )
    recording: str = setting(
        "optional", "A participant who refuses the recording of the session: 'required' "
        "tells the officer, who decides whether to go on; 'optional' goes on without "
        "recording (docs/recording.md)", choices=("required", "optional"),
    )
    # Evidence and the head office (signaling/outbox.py, docs/evidence.md).
    headoffice_url: str = setting(
        "", "Head office URL(s), comma-separated (tried in turn); empty: bundles are built "
        "and kept here, not sent")
    evidence_recording_wait_s: float = setting(
        900.0, "When the participant accepted recording, a claim's bundle waits for the "
        "recording (uploaded by the hub after the session) at most this long after the "
        "decision", min=0.0, max=7 * 86400.0)
    evidence_retention_s: float = setting(
        30 * 24 * 3600.0, "A bundle's local copy is deleted this long after the head office "
        "acknowledged it", min=0.0, max=10 * 365 * 24 * 3600.0)
    outbox_retry_min_s: float = setting(
        2.0, "First wait before sending to the head office again", min=0.01, max=3600.0)
    outbox_retry_max_s: float = setting(
        300.0, "Longest wait between tries to reach the head office", min=0.01, max=86400.0)
    bookings_pull_s: float = setting(
        900.0, "Pull the day's bookings from the head office this often (0: never; the manual "
        "upload stays)", min=0.0, max=86400.0)
    insecure_plaintext: bool = setting(
        False, "DEVELOPMENT ONLY: serve plain http:// and ws:// instead of TLS (PINs and "
        "documents in clear on the network); never on a branch")
    tls_names: list[str] = setting(
        [], "Extra addresses and host names devices use to reach this server, written into "
        "its certificate by `bilik server ca init` (127.0.0.1, localhost and host always)")
    device_tokens: bool = setting(
        True, "Also accept the old bearer tokens from devices (migration only: turn off once "
        "every device is enrolled with its own certificate)")
