"""The document store's records and files: its tables, the rows of documents and uploads,
the content-addressed files, the retention sweep (run on the store thread), and the
durable file operations the upload protocol relies on (see :mod:`signaling.documents`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signaling.protocol_enums import DocumentStatus

if TYPE_CHECKING:
    from signaling.store import Store

# Named limits of the document store.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024  # one scan; a 1280x720 JPEG is ~200 KB
MAX_CHUNK_BYTES = 1024 * 1024  # one PUT
RETENTION_S = 30 * 24 * 3600.0  # files are deleted 30 days after the session ended
MAX_AGE_S = 90 * 24 * 3600.0  # and in any case 90 days after upload
STALE_UPLOAD_S = 24 * 3600.0  # unfinished uploads are dropped after a day
SWEEP_INTERVAL_S = 3600.0
MAX_LIST = 200

# The kind of a session's recording, uploaded by the hub (signaling.recordings): a document
# of the case, but not one the participant scanned, so not in the documents' own lists.
RECORDING_KIND = "recording"
KIND_RE = re.compile(r"\A[a-z0-9_]{1,32}\Z")
SHA256_RE = re.compile(r"\A[0-9a-f]{64}\Z")
ID_RE = re.compile(r"\A[du]-[0-9a-f]{16,32}\Z")
STATUSES = tuple(s.value for s in DocumentStatus)
HUB_STATUSES = tuple(s.value for s in (DocumentStatus.ACCEPTED, DocumentStatus.RESCAN,
                                       DocumentStatus.REJECTED))

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

STEPS = [
    """
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        ticket TEXT NOT NULL,
        booth TEXT NOT NULL,
        pairing TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        content_type TEXT NOT NULL,
        uploaded_by TEXT NOT NULL,
        at REAL NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        deleted_at REAL
    );
    CREATE INDEX documents_ticket ON documents(ticket);
    CREATE INDEX documents_sha ON documents(sha256);
    CREATE TABLE document_uploads (
        id TEXT PRIMARY KEY,
        booth TEXT NOT NULL,
        pairing TEXT NOT NULL,
        ticket TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        created REAL NOT NULL,
        document TEXT
    );
    """,
]


def sniff(head: bytes) -> str | None:
    """The content type by magic bytes: ``image/jpeg``, ``image/png``, else ``None``."""
    if head.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(PNG_MAGIC):
        return "image/png"
    return None


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    ticket: str
    booth: str
    pairing: str
    kind: str
    size: int
    sha256: str
    content_type: str
    uploaded_by: str
    at: float
    status: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Upload:
    id: str
    booth: str
    pairing: str
    ticket: str
    kind: str
    size: int
    sha256: str
    created: float
    document: str | None


# --- store functions (run on the store thread) -----------------------------------------------

_DOC_COLUMNS = ("id, ticket, booth, pairing, kind, size, sha256, content_type, uploaded_by, at, "
                "status, reason")


def get_document(store: Store, doc_id: str) -> DocumentRecord | None:
    row = store.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id=?", (doc_id,)).fetchone()
    return DocumentRecord(*row) if row else None


def list_documents(store: Store, ticket: str) -> list[DocumentRecord]:
    rows = store.execute(
        f"SELECT {_DOC_COLUMNS} FROM documents WHERE ticket=? ORDER BY at LIMIT ?",
        (ticket, MAX_LIST),
    ).fetchall()
    return [DocumentRecord(*r) for r in rows]


def get_upload(store: Store, upload_id: str) -> Upload | None:
    row = store.execute(
        "SELECT id, booth, pairing, ticket, kind, size, sha256, created, document "
        "FROM document_uploads WHERE id=?", (upload_id,)
    ).fetchone()
    return Upload(*row) if row else None


def open_upload(store: Store, upload: Upload) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO document_uploads (id, booth, pairing, ticket, kind, size, sha256, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (upload.id, upload.booth, upload.pairing, upload.ticket, upload.kind, upload.size,
             upload.sha256, upload.created),
        )
        store._audit(db, upload.created, upload.booth, "document_upload_open", upload.ticket,
                     {"upload": upload.id, "kind": upload.kind, "size": upload.size})

    store.transaction(work)


def drop_upload(store: Store, upload_id: str, now: float, actor: str, why: str) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM document_uploads WHERE id=?", (upload_id,))
        store._audit(db, now, actor, "document_upload_refused", upload_id, {"reason": why})

    store.transaction(work)


def finish_upload(store: Store, upload: Upload, record: DocumentRecord) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute(
            f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.ticket, record.booth, record.pairing, record.kind, record.size,
             record.sha256, record.content_type, record.uploaded_by, record.at, record.status,
             record.reason),
        )
        db.execute("UPDATE document_uploads SET document=? WHERE id=?", (record.id, upload.id))
        store._audit(db, record.at, record.uploaded_by, "document_uploaded", record.ticket,
                     {"document": record.id, "kind": record.kind, "size": record.size,
                      "sha256": record.sha256})

    store.transaction(work)


def set_status(store: Store, doc_id: str, status: str, reason: str, now: float,
               actor: str) -> None:
    def work(db: sqlite3.Connection) -> None:
        db.execute("UPDATE documents SET status=?, reason=? WHERE id=? AND status != 'deleted'",
                   (status, reason, doc_id))
        store._audit(db, now, actor, "document_status", doc_id,
                     {"status": status, "reason": reason})

    store.transaction(work)


def audit(store: Store, now: float, actor: str, action: str, subject: str,
          detail: dict[str, Any]) -> None:
    store.audit(now, actor, action, subject, detail)


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:]


def sweep(store: Store, root: Path, now: float, *, retention_s: float = RETENTION_S,
          max_age_s: float = MAX_AGE_S, stale_s: float = STALE_UPLOAD_S) -> int:
    """Apply the retention rule; returns how many documents were deleted."""
    due = store.execute(
        """SELECT d.id, d.sha256 FROM documents d LEFT JOIN pairings pr ON pr.id = d.pairing
           WHERE d.status != 'deleted'
             AND ((pr.released IS NOT NULL AND pr.released < ?) OR d.at < ?)""",
        (now - retention_s, now - max_age_s),
    ).fetchall()
    for doc_id, sha in due:
        def work(db: sqlite3.Connection, doc_id: str = doc_id) -> None:
            db.execute("UPDATE documents SET status='deleted', deleted_at=? WHERE id=?",
                       (now, doc_id))
            store._audit(db, now, "server", "document_deleted", doc_id,
                         {"rule": "retention"})

        store.transaction(work)
        still_used = store.execute(
            "SELECT 1 FROM documents WHERE sha256=? AND status != 'deleted' LIMIT 1", (sha,)
        ).fetchone()
        if still_used is None:
            with contextlib.suppress(FileNotFoundError):
                blob_path(root, sha).unlink()
    stale = store.execute(
        "SELECT id FROM document_uploads WHERE document IS NULL AND created < ?",
        (now - stale_s,),
    ).fetchall()
    for (upload_id,) in stale:
        with contextlib.suppress(FileNotFoundError):
            (root / "uploads" / f"{upload_id}.part").unlink()
        store.execute("DELETE FROM document_uploads WHERE id=?", (upload_id,))
    return len(due)


# --- files --------------------------------------------------------------------------------------


def digest_of(path: Path) -> tuple[str, bytes]:
    h = hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(16)
        h.update(head)
        for block in iter(lambda: f.read(1024 * 1024), b""):
            h.update(block)
    return h.hexdigest(), head


def head_of(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(16)


def create_durably(path: Path) -> None:
    """An empty file whose name survives a power cut (the directory entry is fsynced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def move_into_place(part: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # the same content is stored once
        part.unlink()
        return
    os.replace(part, target)
    _fsync_dir(target.parent)
    _fsync_dir(part.parent)
