"""Branch server feature: the document store (scans a participant makes at the booth).

Files are stored by content hash under ``data_dir/documents/ab/cdef...`` (the SHA-256 in
hex, split after two characters), and described by a row of the ``documents`` table:
ticket, booth, pairing, kind, size, checksum, sniffed content type, who uploaded it and
when, status (uploaded / accepted / rescan / rejected / deleted) and the reason.

Uploading is resumable, in the spirit of tus.io, over plain HTTP with the device token:

    POST /api/documents                {"kind", "size", "sha256"}  -> 201 {"upload", "offset"}
    PUT  /api/documents/uploads/{id}?offset=N   <bytes>            -> 200 {"offset"}
                                                       (the last chunk) 201 {"document", ...}
    HEAD|GET /api/documents/uploads/{id}   -> the offset the server has (Upload-Offset header)

A chunk must start where the server's copy ends (else 409 with the right offset), so a
booth that lost its connection asks for the offset and sends the rest. The upload is
finished when ``size`` bytes are there: the checksum must match (else 422) and the bytes
must be a JPEG or PNG by their magic bytes, whatever the client claimed (else 415); either
failure stores nothing. Beyond :data:`MAX_DOCUMENT_BYTES` the answer is 413.

Who may do what: only the booth that holds the session (it is paired, and the upload was
opened in this pairing) uploads; only the hub paired with that booth in that session
downloads (``GET /api/documents/{id}``) or lists (``GET /api/documents?ticket=``). Each
finished upload is told to the paired hub as ``DocUpdate(status="uploaded")``; the hub's
own ``DocUpdate`` (accepted, rescan with a reason...) is recorded, then relayed to the
booth. Every step is in the audit log.

Retention: a sweep deletes a document's file :data:`RETENTION_S` after its session
ended (the pairing was released), or :data:`MAX_AGE_S` after upload whatever happens,
and drops uploads left unfinished for :data:`STALE_UPLOAD_S`. The row stays, marked
``deleted``, so the audit trail keeps what existed.

The ticket of a document: the queue is to carry the ticket in the pairing (``Pair.ticket``);
until the server's pairing book holds it, a document belongs to ``pairing:<pairing id>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from pathlib import Path

from aiohttp import web

from signaling import crashpoint
from signaling import protocol as p
from signaling.documentrecords import (
    HUB_STATUSES,
    MAX_DOCUMENT_BYTES,
    RETENTION_S,
    STALE_UPLOAD_S,
    STEPS,
    SWEEP_INTERVAL_S,
    DocumentRecord,
    Upload,
    blob_path,
    create_durably,
    finish_upload,
    get_document,
    head_of,
    set_status,
    sniff,
    sweep,
)
from signaling.errors import ProtocolError
from signaling.protocol import ErrorCode, Role
from signaling.server import BranchServer, Connection

# Names the tests and the booth use from here (the records moved to documentrecords).
__all__ = ["DOCUMENTS_KEY", "MAX_DOCUMENT_BYTES", "RETENTION_S", "STALE_UPLOAD_S",
           "DocumentStore", "blob_path", "sweep"]

log = logging.getLogger(__name__)

# --- the HTTP side -----------------------------------------------------------------------------


class DocumentStore:
    """The document store: its files, records, sweep and the hub's DocUpdate; its HTTP side is
    :class:`signaling.documentshttp.DocumentRoutes`."""

    def __init__(self, server: BranchServer) -> None:
        self.server = server
        self._sweeper: asyncio.Task[None] | None = None
        self.writing: set[str] = set()  # uploads a PUT is writing to now

    @property
    def root(self) -> Path:
        return self.server.config.data_dir / "documents"

    async def start(self) -> None:
        db = self.server.db
        await db.call(db.sync.migrate_feature, "documents", STEPS)
        await asyncio.to_thread((self.root / "uploads").mkdir, parents=True, exist_ok=True)
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop(),
                                                               name="documents-sweep")

    async def stop(self) -> None:
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the sweep is retried at the next interval
                log.exception("document retention sweep failed")
            await asyncio.sleep(SWEEP_INTERVAL_S)

    async def sweep(self) -> int:
        db = self.server.db
        deleted = await db.call(sweep, db.sync, self.root, self.server.clock())
        if deleted:
            log.info("retention: deleted %d document(s)", deleted)
        return deleted

    def session_of(self, booth: str) -> tuple[str, str] | None:
        """(pairing id, ticket) of the booth's current session, if it has one."""
        pairing = self.server.book.of_booth(booth)
        if pairing is None:
            return None
        ticket = getattr(pairing, "ticket", "") or f"pairing:{pairing.id}"
        return pairing.id, ticket

    def part(self, upload_id: str) -> Path:
        return self.root / "uploads" / f"{upload_id}.part"

    def offset(self, upload: Upload) -> int:
        if upload.document is not None:
            return upload.size
        try:
            return self.part(upload.id).stat().st_size
        except FileNotFoundError:
            return 0

    async def recovered(self, upload: Upload) -> Upload:
        """An upload whose ``.part`` is gone though no document was recorded: the server
        died between moving the finished file into place and recording it (or between
        refusing it and forgetting it). With the declared content in the store, the upload
        is finished now; without it, it starts again from an empty ``.part``."""
        if upload.document is not None or self.part(upload.id).exists():
            return upload
        if blob_path(self.root, upload.sha256).exists():
            record = await self.record(upload, upload.booth, notify=False)
            log.info("upload recovered after a crash", extra={"fields": {
                "upload": upload.id, "document": record.id}})
            return dataclasses.replace(upload, document=record.id)
        await asyncio.to_thread(create_durably, self.part(upload.id))
        return upload

    async def record(self, upload: Upload, booth: str, *, notify: bool) -> DocumentRecord:
        """The document row of a finished upload whose file is in place."""
        db = self.server.db
        target = blob_path(self.root, upload.sha256)
        head = await asyncio.to_thread(head_of, target)
        record = DocumentRecord(f"d-{secrets.token_hex(8)}", upload.ticket, booth,
                                upload.pairing, upload.kind, upload.size, upload.sha256,
                                sniff(head) or "application/octet-stream", booth,
                                self.server.clock(), "uploaded", "")
        await db.call(finish_upload, db.sync, upload, record)
        crashpoint.reached("upload.recorded")
        log.info("document stored", extra={"fields": {
            "document": record.id, "booth": booth, "kind": record.kind, "size": record.size}})
        pairing = self.server.book.of_booth(booth)
        if notify and pairing is not None and pairing.id == upload.pairing:
            await self.server.send_to(pairing.hub, p.DocUpdate(
                peer=booth, pairing=pairing.id, document=record.id, kind=record.kind,
                status="uploaded"))
        return record

    def hub_may_see(self, hub: str, booth: str, pairing_id: str, ticket: str = "") -> bool:
        pairing = self.server.book.of_booth(booth)
        if pairing is None or pairing.hub != hub:
            return False
        return pairing.id == pairing_id or (bool(ticket) and pairing.ticket == ticket)

    async def on_doc_update(self, conn: Connection, msg: p.Message) -> None:
        """A DocUpdate between booth and hub: the hub's verdict is recorded, then relayed."""
        if not isinstance(msg, p.DocUpdate):  # pragma: no cover - registered for DocUpdate
            return
        other = self.server.book.counterpart(msg.pairing, conn.device_id)
        if other is None or other != msg.peer:
            raise ProtocolError(ErrorCode.NOT_PAIRED, f"{conn.device_id} is not paired with "
                                f"{msg.peer} in pairing {msg.pairing}")
        db = self.server.db
        if conn.role is Role.HUB and msg.status in HUB_STATUSES:
            record = await db.call(get_document, db.sync, msg.document)
            pairing = self.server.book.pairings.get(msg.pairing)
            same_case = pairing is not None and record is not None and (
                record.pairing == msg.pairing or (bool(record.ticket)
                                                  and record.ticket == pairing.ticket))
            if record is None or record.booth != other or not same_case:
                raise ProtocolError(ErrorCode.BAD_MESSAGE,
                                    f"document {msg.document} is not of this session")
            await db.call(set_status, db.sync, record.id, msg.status, msg.reason,
                          self.server.clock(), conn.device_id)
        forwarded = p.DocUpdate(peer=conn.device_id, pairing=msg.pairing, document=msg.document,
                                kind=msg.kind, status=msg.status, reason=msg.reason)
        if not await self.server.send_to(other, forwarded):
            raise ProtocolError(ErrorCode.PEER_OFFLINE, f"{other} is offline")


DOCUMENTS_KEY: web.AppKey[DocumentStore] = web.AppKey("bilik_documents")
