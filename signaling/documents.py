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
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from signaling import certauth, crashpoint, limits, tokens
from signaling import protocol as p
from signaling.documentrecords import (
    HUB_STATUSES,
    ID_RE,
    KIND_RE,
    MAX_CHUNK_BYTES,
    MAX_DOCUMENT_BYTES,
    RETENTION_S,
    SHA256_RE,
    STALE_UPLOAD_S,
    STEPS,
    SWEEP_INTERVAL_S,
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
    head_of,
    list_documents,
    move_into_place,
    open_upload,
    set_status,
    sniff,
    sweep,
)
from signaling.errors import ProtocolError, TokenError
from signaling.protocol import ErrorCode, Role
from signaling.requestbody import read_json_object

if TYPE_CHECKING:
    from signaling.server import BranchServer, Connection

# Names the tests and the booth use from here (the records moved to documentrecords).
__all__ = ["DOCUMENTS_KEY", "MAX_DOCUMENT_BYTES", "RETENTION_S", "STALE_UPLOAD_S",
           "DocumentStore", "blob_path", "setup", "sweep"]

log = logging.getLogger(__name__)

# --- the HTTP side -----------------------------------------------------------------------------


def _problem(status: int, code: str, detail: str, **extra: Any) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
           404: web.HTTPNotFound, 408: web.HTTPRequestTimeout, 409: web.HTTPConflict,
           410: web.HTTPGone, 413: web.HTTPRequestEntityTooLarge,
           415: web.HTTPUnsupportedMediaType, 422: web.HTTPUnprocessableEntity}[status]
    body = {"error": code, "detail": detail, **extra}
    if cls is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(
            max_size=MAX_DOCUMENT_BYTES, actual_size=extra.get("size", 0),
            text=web.json_response(body).text, content_type="application/json")
    return cls(text=web.json_response(body).text, content_type="application/json")


class DocumentStore:
    def __init__(self, server: BranchServer) -> None:
        self.server = server
        self._sweeper: asyncio.Task[None] | None = None
        self._writing: set[str] = set()  # uploads a PUT is writing to now

    @property
    def root(self) -> Path:
        return self.server.config.data_dir / "documents"

    # -- lifecycle --------------------------------------------------------------------------

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

    # -- who is asking ----------------------------------------------------------------------

    def _grant(self, request: web.Request, role: Role) -> tokens.Grant:
        try:  # the device's certificate, else its bearer token (signaling.certauth)
            grant = certauth.request_grant(self.server, request)
        except TokenError as exc:
            raise _problem(401, "unauthorized", str(exc)) from None
        if grant.role is not role:
            raise _problem(403, "forbidden", f"a {grant.role} may not do this; only a {role}")
        return grant

    def _session_of(self, booth: str) -> tuple[str, str] | None:
        """(pairing id, ticket) of the booth's current session, if it has one."""
        pairing = self.server.book.of_booth(booth)
        if pairing is None:
            return None
        ticket = getattr(pairing, "ticket", "") or f"pairing:{pairing.id}"
        return pairing.id, ticket

    # -- upload -----------------------------------------------------------------------------

    async def open_upload(self, request: web.Request) -> web.Response:
        grant = self._grant(request, Role.BOOTH)
        # Who may upload is settled before the body is read: a booth out of session
        # gets its 403 whatever it sends.
        session = self._session_of(grant.device_id)
        if session is None:
            raise _problem(403, "not_in_session",
                           f"{grant.device_id} holds no session: uploads are only for the "
                           "participant being served")
        body = await read_json_object(request, fields="kind, size, sha256")
        kind, size, sha = body.get("kind"), body.get("size"), body.get("sha256")
        if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
            raise _problem(400, "bad_request", "kind must be 1-32 of a-z, 0-9, _")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise _problem(400, "bad_request", "size must be a positive integer (bytes)")
        if size > MAX_DOCUMENT_BYTES:
            raise _problem(413, "too_large",
                           f"a document may be at most {MAX_DOCUMENT_BYTES} bytes; this is {size}",
                           size=size)
        if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
            raise _problem(400, "bad_request", "sha256 must be 64 lower-case hex digits")
        upload = Upload(f"u-{secrets.token_hex(12)}", grant.device_id, session[0], session[1],
                        kind, size, sha, self.server.clock(), None)
        # The file first, then its row: a crash between leaves an orphan file (swept), never
        # a row whose file is missing.
        await asyncio.to_thread(create_durably, self._part(upload.id))
        crashpoint.reached("upload.part_created")
        db = self.server.db
        await db.call(open_upload, db.sync, upload)
        crashpoint.reached("upload.opened")
        return web.json_response({"upload": upload.id, "offset": 0,
                                  "chunk_max": MAX_CHUNK_BYTES}, status=201)

    def _part(self, upload_id: str) -> Path:
        return self.root / "uploads" / f"{upload_id}.part"

    async def _own_upload(self, request: web.Request) -> tuple[tokens.Grant, Upload]:
        grant = self._grant(request, Role.BOOTH)
        upload_id = request.match_info["upload"]
        upload = None
        if ID_RE.fullmatch(upload_id):
            db = self.server.db
            upload = await db.call(get_upload, db.sync, upload_id)
        if upload is None or upload.booth != grant.device_id:
            raise _problem(404, "unknown_upload", f"no upload {upload_id[:40]!r} of this booth")
        return grant, upload

    def _offset(self, upload: Upload) -> int:
        if upload.document is not None:
            return upload.size
        try:
            return self._part(upload.id).stat().st_size
        except FileNotFoundError:
            return 0

    async def _recovered(self, upload: Upload) -> Upload:
        """An upload whose ``.part`` is gone though no document was recorded: the server
        died between moving the finished file into place and recording it (or between
        refusing it and forgetting it). With the declared content in the store, the upload
        is finished now; without it, it starts again from an empty ``.part``."""
        if upload.document is not None or self._part(upload.id).exists():
            return upload
        if blob_path(self.root, upload.sha256).exists():
            record = await self._record(upload, upload.booth, notify=False)
            log.info("upload recovered after a crash", extra={"fields": {
                "upload": upload.id, "document": record.id}})
            return dataclasses.replace(upload, document=record.id)
        await asyncio.to_thread(create_durably, self._part(upload.id))
        return upload

    async def upload_status(self, request: web.Request) -> web.Response:
        _, upload = await self._own_upload(request)
        upload = await self._recovered(upload)
        offset = self._offset(upload)
        headers = {"Upload-Offset": str(offset), "Upload-Length": str(upload.size)}
        if request.method == "HEAD":
            return web.Response(headers=headers)
        return web.json_response({"upload": upload.id, "offset": offset, "size": upload.size,
                                  "document": upload.document}, headers=headers)

    async def put_chunk(self, request: web.Request) -> web.Response:
        grant, upload = await self._own_upload(request)
        if upload.id in self._writing:
            raise _problem(409, "upload_busy", "another chunk of this upload is being received",
                           offset=self._offset(upload))
        self._writing.add(upload.id)
        try:
            return await self._put_chunk(request, grant, await self._recovered(upload))
        finally:
            self._writing.discard(upload.id)

    async def _put_chunk(self, request: web.Request, grant: tokens.Grant, upload: Upload
                         ) -> web.Response:
        if upload.document is not None:  # the last reply was lost: say again that it is done
            return web.json_response({"document": upload.document, "offset": upload.size,
                                      "status": "uploaded"}, status=201)
        session = self._session_of(grant.device_id)
        if session is None or session[0] != upload.pairing:
            raise _problem(403, "not_in_session",
                           "the session this upload was opened in is over")
        try:
            offset = int(request.query.get("offset", ""))
        except ValueError:
            raise _problem(400, "bad_request", "query parameter offset=N is required") from None
        current = self._offset(upload)
        if offset != current:
            raise _problem(409, "wrong_offset",
                           f"the server has {current} bytes; send from there", offset=current)
        room = min(MAX_CHUNK_BYTES, upload.size - current)
        declared = request.content_length
        if declared is not None and declared > room:
            raise _problem(413, "too_large", f"this chunk may be at most {room} bytes",
                           size=declared)
        part = self._part(upload.id)
        received = 0
        with part.open("r+b") as f:
            f.seek(current)
            f.truncate()
            try:
                async with asyncio.timeout(limits.BODY_READ_S):
                    async for piece in request.content.iter_any():
                        received += len(piece)
                        if received > room:
                            f.truncate(current)
                            too_many, received = received, 0
                            raise _problem(413, "too_large",
                                           f"this chunk may be at most {room} bytes",
                                           size=too_many)
                        f.write(piece)
            except TimeoutError:
                # What did arrive is kept (it is in order): the booth asks for the offset.
                raise _problem(408, "too_slow", f"a chunk must arrive within "
                               f"{limits.BODY_READ_S:g} s; ask for the offset and go on",
                               offset=current + received) from None
            finally:
                f.flush()
                os.fsync(f.fileno())
        crashpoint.reached("upload.chunk_written")
        offset = current + received
        if offset < upload.size:
            return web.json_response({"offset": offset}, headers={"Upload-Offset": str(offset)})
        return await self._finish(upload, grant.device_id)

    async def _finish(self, upload: Upload, booth: str) -> web.Response:
        part = self._part(upload.id)
        db = self.server.db
        digest, head = await asyncio.to_thread(digest_of, part)
        now = self.server.clock()
        if digest != upload.sha256:
            await asyncio.to_thread(part.unlink)
            await db.call(drop_upload, db.sync, upload.id, now, booth, "checksum")
            raise _problem(422, "checksum_mismatch",
                           f"the bytes received have SHA-256 {digest}, not {upload.sha256}; "
                           "nothing was stored: start the upload again")
        content_type = sniff(head)
        if content_type is None:
            await asyncio.to_thread(part.unlink)
            await db.call(drop_upload, db.sync, upload.id, now, booth, "type")
            raise _problem(415, "unsupported_type",
                           "a document must be a JPEG or PNG picture (by its content); "
                           "nothing was stored")
        target = blob_path(self.root, digest)
        await asyncio.to_thread(move_into_place, part, target)
        crashpoint.reached("upload.moved")
        record = await self._record(upload, booth, notify=True)
        return web.json_response({"document": record.id, "offset": upload.size,
                                  "sha256": digest, "status": "uploaded"}, status=201)

    async def _record(self, upload: Upload, booth: str, *, notify: bool) -> DocumentRecord:
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

    # -- the hub's side ---------------------------------------------------------------------

    def _hub_may_see(self, hub: str, booth: str, pairing_id: str, ticket: str = "") -> bool:
        pairing = self.server.book.of_booth(booth)
        if pairing is None or pairing.hub != hub:
            return False
        return pairing.id == pairing_id or (bool(ticket) and pairing.ticket == ticket)

    async def download(self, request: web.Request) -> web.StreamResponse:
        grant = self._grant(request, Role.HUB)
        doc_id = request.match_info["document"]
        db = self.server.db
        record = await db.call(get_document, db.sync, doc_id) if ID_RE.fullmatch(doc_id) else None
        if record is None:
            raise _problem(404, "unknown_document", f"no document {doc_id[:40]!r}")
        if not self._hub_may_see(grant.device_id, record.booth, record.pairing, record.ticket):
            raise _problem(403, "forbidden",
                           "only the hub serving this document's session may download it")
        if record.status == "deleted":
            raise _problem(410, "deleted", "the document was deleted by the retention rule")
        await db.call(audit, db.sync, self.server.clock(), grant.device_id,
                      "document_downloaded", record.id, {"ticket": record.ticket})
        return web.FileResponse(blob_path(self.root, record.sha256),
                                headers={"Content-Type": record.content_type,
                                         "X-Checksum-SHA256": record.sha256})

    async def list_for_ticket(self, request: web.Request) -> web.Response:
        grant = self._grant(request, Role.HUB)
        ticket = request.query.get("ticket", "")
        if not ticket or len(ticket) > 80:
            raise _problem(400, "bad_request", "query parameter ticket= is required")
        db = self.server.db
        records = await db.call(list_documents, db.sync, ticket)
        visible = [r for r in records
                   if self._hub_may_see(grant.device_id, r.booth, r.pairing, r.ticket)]
        if records and not visible:
            raise _problem(403, "forbidden", "only the hub serving this ticket may list it")
        return web.json_response({"ticket": ticket, "documents": [r.to_json() for r in visible]})

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


def setup(app: web.Application, server: BranchServer) -> None:
    """Add the document store's tables, routes, DocUpdate handling and retention sweep."""
    store = DocumentStore(server)
    app[DOCUMENTS_KEY] = store
    server.on_start.append(store.start)
    server.on_stop.append(store.stop)
    server.handlers[p.DocUpdate.TYPE] = store.on_doc_update
    app.router.add_post("/api/documents", store.open_upload)
    app.router.add_get("/api/documents", store.list_for_ticket)
    app.router.add_route("HEAD", "/api/documents/uploads/{upload}", store.upload_status)
    app.router.add_get("/api/documents/uploads/{upload}", store.upload_status, allow_head=False)
    app.router.add_put("/api/documents/uploads/{upload}", store.put_chunk)
    app.router.add_get("/api/documents/{document}", store.download)
