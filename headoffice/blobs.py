"""The blob directory: parts of uploads in progress, and stored bundles (content-addressed
per branch). Every write is fsynced before the database is told about it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bilik.evidence.limits import HASH_CHUNK


class Blobs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        (self.root / "parts").mkdir(parents=True, exist_ok=True)
        (self.root / "bundles").mkdir(parents=True, exist_ok=True)

    def part(self, upload_id: str) -> Path:
        return self.root / "parts" / f"{upload_id}.part"

    def bundle(self, branch: str, sha256: str) -> Path:
        return self.root / "bundles" / branch / sha256[:2] / f"{sha256}.zip"

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    @staticmethod
    def write_at(path: Path, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``, dropping anything past it first (bytes a killed process
        wrote without committing their offset), and fsync."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def sha256(path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(HASH_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    @staticmethod
    def move_into_place(part: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
        for directory in {target.parent, part.parent}:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
