"""Settings of the head office (``[headoffice]`` in headoffice.toml, ``BILIK_HEADOFFICE_*``,
flags)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bilik.config import setting
from headoffice import limits


@dataclass(frozen=True)
class HeadOfficeConfig:
    host: str = setting("127.0.0.1", "Address to listen on")
    port: int = setting(8800, "TCP port for the branches' uploads and bookings", min=0,
                        max=65535)
    dsn: str = setting("postgresql:///bilik_headoffice",
                       "PostgreSQL connection (libpq URI); shared by every head-office process")
    blob_dir: Path = setting(Path("var/headoffice"),
                             "Directory for the bundles' files (shared by every process)")
    pool_min: int = setting(1, "PostgreSQL connections kept open per process", min=1, max=100)
    pool_max: int = setting(10, "Most PostgreSQL connections per process", min=1, max=500)
    max_chunk_bytes: int = setting(limits.MAX_CHUNK_BYTES, "Largest chunk of an upload accepted",
                                   min=1024, max=64 * 1024 * 1024)
