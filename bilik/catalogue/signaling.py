"""Text the branch server sends towards people (close reasons shown on screens)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "replaced": (
        "Perangkat ini tersambung di tempat lain",
        "This device connected from somewhere else",
    ),
    "server_shutdown": ("Server cabang dimatikan", "The branch server is shutting down"),
    "no_hub": (
        "Belum ada petugas yang tersedia, mohon tunggu",
        "No officer is available yet, please wait",
    ),
}
