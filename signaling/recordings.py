"""Branch server feature: the hub uploads a session's recording after the session.

The same resumable upload as the documents (:mod:`signaling.documents`), the same tables
and content-addressed files (:mod:`signaling.documentrecords`: a recording is a document
of kind ``recording``, content type ``video/webm``, uploaded by the hub), under its own
paths, because the uploader is the hub, the session is over and the file is a video:

    POST /api/recordings               {"ticket", "booth", "pairing", "size", "sha256"}
                                                              -> 201 {"upload", "offset"}
    PUT  /api/recordings/uploads/{id}?offset=N   <bytes>      -> 200 {"offset"}
                                          (the last chunk)       201 {"document", ...}
    HEAD|GET /api/recordings/uploads/{id}   -> the offset the server has
    GET  /api/recordings?ticket=            -> the ticket's recordings (their records)
    GET  /api/recordings/{document}         -> the file (byte ranges: a <video> seeks)

Only the hub of the pairing (from the pairings table: the session may be over) opens an
upload, and only it reads the recording back. A chunk must start where the server's copy
ends (409 with the right offset otherwise). When ``size`` bytes are there, the checksum
must match (422) and the bytes must be WebM (an EBML header naming ``webm``; 415), or
nothing is stored. Every step is in the audit log (``document_upload_open``,
``document_uploaded``, ``recording_downloaded``). The retention sweep of the documents
applies to recordings too.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from signaling.documentrecords import (
    ID_RE,
    RECORDING_KIND,
    SHA256_RE,
    DocumentRecord,
    Upload,
    audit,
    blob_path,
    create_durably,
    digest_of,
    drop_upload,
    finish_upload,
    get_document,
    get_upload,
    list_documents,
    move_into_place,
    open_upload,
)
from signaling.problems import problem
from signaling.protocol import DEVICE_ID_RE, Role
from signaling.requestbody import append_chunk, read_json_object
from signaling.roleguard import grant_of
from signaling.server import BranchServer

if TYPE_CHECKING:
    from signaling.store import Store

log = logging.getLogger(__name__)

KIND = RECORDING_KIND
CONTENT_TYPE = "video/webm"
MAX_RECORDING_BYTES = 4 * 1024 ** 3  # about 9 hours of a call at 1 Mbit/s
MAX_CHUNK_BYTES = 8 * 1024 * 1024  # one PUT
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def is_webm(head: bytes) -> bool:
    """An EBML document whose DocType is ``webm`` (within its first bytes)."""
    return head.startswith(EBML_MAGIC) and b"webm" in head[:64]


def served_by(store: Store, pairing: str) -> tuple[str, str, str] | None:
    """(booth, hub, ticket) of a pairing, whether or not it was released."""
    row = store.execute("SELECT booth, hub, ticket FROM pairings WHERE id=?",
                        (pairing,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


class RecordingStore:
    def __init__(self, server: BranchServer) -> None:
        self.server = server
        self._writing: set[str] = set()

    @property
    def root(self) -> Path:
        return self.server.config.data_dir / "documents"  # the documents' files and uploads

    def _hub(self, request: web.Request) -> str:
        return grant_of(request, Role.HUB, purpose="the recordings").device_id

    def _part(self, upload_id: str) -> Path:
        return self.root / "uploads" / f"{upload_id}.part"

    async def open_upload(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        body = await read_json_object(request, fields="ticket, booth, pairing, size, sha256")
        booth, pairing, size, sha = (body.get(k) for k in ("booth", "pairing", "size", "sha256"))
        if not isinstance(pairing, str) or not pairing or len(pairing) > 64:
            raise problem(400, "bad_request", "pairing must name the session's pairing")
        if not isinstance(booth, str) or not DEVICE_ID_RE.fullmatch(booth):
            raise problem(400, "bad_request", "booth must be a device id")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise problem(400, "bad_request", "size must be a positive integer (bytes)")
        if size > MAX_RECORDING_BYTES:
            raise problem(413, "too_large", f"a recording may be at most {MAX_RECORDING_BYTES} "
                          f"bytes; this is {size}", size=size)
        if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
            raise problem(400, "bad_request", "sha256 must be 64 lower-case hex digits")
        db = self.server.db
        session = await db.call(served_by, db.sync, pairing)
        if session is None or session[1] != hub or session[0] != booth:
            raise problem(403, "not_your_session",
                         f"{hub} did not serve {booth} in pairing {pairing[:64]!r}")
        ticket = session[2] or f"pairing:{pairing}"
        upload = Upload(f"u-{secrets.token_hex(12)}", hub, pairing, ticket, KIND, size, sha,
                        self.server.clock(), None)
        await asyncio.to_thread(create_durably, self._part(upload.id))
        await db.call(open_upload, db.sync, upload)
        return web.json_response({"upload": upload.id, "offset": 0, "ticket": ticket,
                                  "chunk_max": MAX_CHUNK_BYTES}, status=201)

    async def _own_upload(self, request: web.Request) -> tuple[str, Upload]:
        hub = self._hub(request)
        upload_id = request.match_info["upload"]
        upload = None
        if ID_RE.fullmatch(upload_id):
            db = self.server.db
            upload = await db.call(get_upload, db.sync, upload_id)
        if upload is None or upload.booth != hub or upload.kind != KIND:
            raise problem(404, "unknown_upload", f"no recording upload {upload_id[:40]!r} "
                         "of this hub")
        return hub, upload

    def _offset(self, upload: Upload) -> int:
        if upload.document is not None:
            return upload.size
        try:
            return self._part(upload.id).stat().st_size
        except FileNotFoundError:
            return 0

    async def upload_status(self, request: web.Request) -> web.Response:
        _, upload = await self._own_upload(request)
        if upload.document is None and not self._part(upload.id).exists():
            await asyncio.to_thread(create_durably, self._part(upload.id))
        offset = self._offset(upload)
        headers = {"Upload-Offset": str(offset), "Upload-Length": str(upload.size)}
        if request.method == "HEAD":
            return web.Response(headers=headers)
        return web.json_response({"upload": upload.id, "offset": offset, "size": upload.size,
                                  "document": upload.document}, headers=headers)

    async def put_chunk(self, request: web.Request) -> web.Response:
        hub, upload = await self._own_upload(request)
        if upload.id in self._writing:
            raise problem(409, "upload_busy", "another chunk of this upload is being received",
                         offset=self._offset(upload))
        self._writing.add(upload.id)
        try:
            return await self._put_chunk(request, hub, upload)
        finally:
            self._writing.discard(upload.id)

    async def _put_chunk(self, request: web.Request, hub: str, upload: Upload) -> web.Response:
        if upload.document is not None:
            return web.json_response({"document": upload.document, "offset": upload.size,
                                      "status": "uploaded"}, status=201)
        offset = await append_chunk(request, self._part(upload.id), self._offset(upload),
                                    upload.size, MAX_CHUNK_BYTES)
        if offset < upload.size:
            return web.json_response({"offset": offset}, headers={"Upload-Offset": str(offset)})
        return await self._finish(upload, hub)

    async def _finish(self, upload: Upload, hub: str) -> web.Response:
        part = self._part(upload.id)
        db = self.server.db
        now = self.server.clock()
        digest, head = await asyncio.to_thread(_digest_and_head, part)
        if digest != upload.sha256:
            await asyncio.to_thread(part.unlink)
            await db.call(drop_upload, db.sync, upload.id, now, hub, "checksum")
            raise problem(422, "checksum_mismatch",
                         f"the bytes received have SHA-256 {digest}, not {upload.sha256}; "
                         "nothing was stored: start the upload again")
        if not is_webm(head):
            await asyncio.to_thread(part.unlink)
            await db.call(drop_upload, db.sync, upload.id, now, hub, "type")
            raise problem(415, "unsupported_type",
                         "a recording must be a WebM file (by its content); nothing was stored")
        await asyncio.to_thread(move_into_place, part, blob_path(self.root, digest))
        booth = await db.call(served_by, db.sync, upload.pairing)
        record = DocumentRecord(f"d-{secrets.token_hex(8)}", upload.ticket,
                                booth[0] if booth else "", upload.pairing, KIND, upload.size,
                                digest, CONTENT_TYPE, hub, now, "uploaded", "")
        await db.call(finish_upload, db.sync, upload, record)
        log.info("recording stored", extra={"fields": {
            "document": record.id, "ticket": record.ticket, "size": record.size}})
        return web.json_response({"document": record.id, "offset": upload.size,
                                  "sha256": digest, "status": "uploaded"}, status=201)

    async def list_for_ticket(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        ticket = request.query.get("ticket", "")
        if not ticket or len(ticket) > 80:
            raise problem(400, "bad_request", "query parameter ticket= is required")
        db = self.server.db
        records = [r for r in await db.call(list_documents, db.sync, ticket)
                   if r.kind == KIND and r.uploaded_by == hub]
        return web.json_response({"ticket": ticket,
                                  "recordings": [r.to_json() for r in records]})

    async def download(self, request: web.Request) -> web.StreamResponse:
        hub = self._hub(request)
        doc_id = request.match_info["document"]
        db = self.server.db
        record = await db.call(get_document, db.sync, doc_id) if ID_RE.fullmatch(doc_id) else None
        if record is None or record.kind != KIND:
            raise problem(404, "unknown_recording", f"no recording {doc_id[:40]!r}")
        if record.uploaded_by != hub:
            raise problem(403, "forbidden", "only the hub that recorded it may read it")
        if record.status == "deleted":
            raise problem(410, "deleted", "the recording was deleted by the retention rule")
        if "Range" not in request.headers or request.headers["Range"].startswith("bytes=0-"):
            await db.call(audit, db.sync, self.server.clock(), hub, "recording_downloaded",
                          record.id, {"ticket": record.ticket})
        return web.FileResponse(blob_path(self.root, record.sha256),
                                headers={"Content-Type": CONTENT_TYPE,
                                         "X-Checksum-SHA256": record.sha256})


def _digest_and_head(path: Path) -> tuple[str, bytes]:
    digest, _ = digest_of(path)
    with path.open("rb") as f:
        return digest, f.read(64)


RECORDINGS_KEY: web.AppKey[RecordingStore] = web.AppKey("bilik_recordings")


def setup(app: web.Application, server: BranchServer) -> None:
    """Add the recordings' upload and download (the documents feature owns the tables)."""
    store = RecordingStore(server)
    app[RECORDINGS_KEY] = store
    app.router.add_post("/api/recordings", store.open_upload)
    app.router.add_get("/api/recordings", store.list_for_ticket)
    app.router.add_route("HEAD", "/api/recordings/uploads/{upload}", store.upload_status)
    app.router.add_get("/api/recordings/uploads/{upload}", store.upload_status, allow_head=False)
    app.router.add_put("/api/recordings/uploads/{upload}", store.put_chunk)
    app.router.add_get("/api/recordings/{document}", store.download)
