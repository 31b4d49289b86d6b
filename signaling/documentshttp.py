"""The document store's HTTP side: resumable uploads by the booth, downloads and lists by the
hub (see :mod:`signaling.documents` for the protocol), and :func:`setup`, the feature's plug
into the server (app.py)."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from signaling import crashpoint, tokens
from signaling import protocol as p
from signaling.documentrecords import (
    ID_RE,
    KIND_RE,
    MAX_CHUNK_BYTES,
    MAX_DOCUMENT_BYTES,
    RECORDING_KIND,
    SHA256_RE,
    Upload,
    audit,
    blob_path,
    create_durably,
    digest_of,
    drop_upload,
    get_document,
    get_upload,
    list_documents,
    move_into_place,
    open_upload,
    sniff,
)
from signaling.documents import DOCUMENTS_KEY, DocumentStore
from signaling.problems import problem
from signaling.protocol import Role
from signaling.requestbody import append_chunk, read_json_object
from signaling.roleguard import grant_of
from signaling.server import BranchServer


class DocumentRoutes:
    """The HTTP handlers of the document store."""

    def __init__(self, docs: DocumentStore) -> None:
        self.docs = docs
        self.server = docs.server

    async def open_upload(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.BOOTH)
        # Who may upload is settled before the body is read: a booth out of session
        # gets its 403 whatever it sends.
        session = self.docs.session_of(grant.device_id)
        if session is None:
            raise problem(403, "not_in_session",
                           f"{grant.device_id} holds no session: uploads are only for the "
                           "participant being served")
        body = await read_json_object(request, fields="kind, size, sha256")
        kind, size, sha = body.get("kind"), body.get("size"), body.get("sha256")
        if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
            raise problem(400, "bad_request", "kind must be 1-32 of a-z, 0-9, _")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise problem(400, "bad_request", "size must be a positive integer (bytes)")
        if size > MAX_DOCUMENT_BYTES:
            raise problem(413, "too_large",
                           f"a document may be at most {MAX_DOCUMENT_BYTES} bytes; this is {size}",
                           size=size)
        if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
            raise problem(400, "bad_request", "sha256 must be 64 lower-case hex digits")
        upload = Upload(f"u-{secrets.token_hex(12)}", grant.device_id, session[0], session[1],
                        kind, size, sha, self.server.clock(), None)
        # The file first, then its row: a crash between leaves an orphan file (swept), never
        # a row whose file is missing.
        await asyncio.to_thread(create_durably, self.docs.part(upload.id))
        crashpoint.reached("upload.part_created")
        db = self.server.db
        await db.call(open_upload, db.sync, upload)
        crashpoint.reached("upload.opened")
        return web.json_response({"upload": upload.id, "offset": 0,
                                  "chunk_max": MAX_CHUNK_BYTES}, status=201)

    async def _own_upload(self, request: web.Request) -> tuple[tokens.Grant, Upload]:
        grant = grant_of(request, Role.BOOTH)
        upload_id = request.match_info["upload"]
        upload = None
        if ID_RE.fullmatch(upload_id):
            db = self.server.db
            upload = await db.call(get_upload, db.sync, upload_id)
        if upload is None or upload.booth != grant.device_id:
            raise problem(404, "unknown_upload", f"no upload {upload_id[:40]!r} of this booth")
        return grant, upload

    async def upload_status(self, request: web.Request) -> web.Response:
        _, upload = await self._own_upload(request)
        upload = await self.docs.recovered(upload)
        offset = self.docs.offset(upload)
        headers = {"Upload-Offset": str(offset), "Upload-Length": str(upload.size)}
        if request.method == "HEAD":
            return web.Response(headers=headers)
        return web.json_response({"upload": upload.id, "offset": offset, "size": upload.size,
                                  "document": upload.document}, headers=headers)

    async def put_chunk(self, request: web.Request) -> web.Response:
        grant, upload = await self._own_upload(request)
        if upload.id in self.docs.writing:
            raise problem(409, "upload_busy", "another chunk of this upload is being received",
                           offset=self.docs.offset(upload))
        self.docs.writing.add(upload.id)
        try:
            return await self._put_chunk(request, grant, await self.docs.recovered(upload))
        finally:
            self.docs.writing.discard(upload.id)

    async def _put_chunk(self, request: web.Request, grant: tokens.Grant, upload: Upload
                         ) -> web.Response:
        if upload.document is not None:  # the last reply was lost: say again that it is done
            return web.json_response({"document": upload.document, "offset": upload.size,
                                      "status": "uploaded"}, status=201)
        session = self.docs.session_of(grant.device_id)
        if session is None or session[0] != upload.pairing:
            raise problem(403, "not_in_session",
                           "the session this upload was opened in is over")
        offset = await append_chunk(request, self.docs.part(upload.id),
                                    self.docs.offset(upload), upload.size, MAX_CHUNK_BYTES)
        crashpoint.reached("upload.chunk_written")
        if offset < upload.size:
            return web.json_response({"offset": offset}, headers={"Upload-Offset": str(offset)})
        return await self._finish(upload, grant.device_id)

    async def _finish(self, upload: Upload, booth: str) -> web.Response:
        part = self.docs.part(upload.id)
        db = self.server.db
        digest, head = await asyncio.to_thread(digest_of, part)
        now = self.server.clock()
        if digest != upload.sha256:
            await asyncio.to_thread(part.unlink)
            await db.call(drop_upload, db.sync, upload.id, now, booth, "checksum")
            raise problem(422, "checksum_mismatch",
                           f"the bytes received have SHA-256 {digest}, not {upload.sha256}; "
                           "nothing was stored: start the upload again")
        content_type = sniff(head)
        if content_type is None:
            await asyncio.to_thread(part.unlink)
            await db.call(drop_upload, db.sync, upload.id, now, booth, "type")
            raise problem(415, "unsupported_type",
                           "a document must be a JPEG or PNG picture (by its content); "
                           "nothing was stored")
        target = blob_path(self.docs.root, digest)
        await asyncio.to_thread(move_into_place, part, target)
        crashpoint.reached("upload.moved")
        record = await self.docs.record(upload, booth, notify=True)
        return web.json_response({"document": record.id, "offset": upload.size,
                                  "sha256": digest, "status": "uploaded"}, status=201)

    async def download(self, request: web.Request) -> web.StreamResponse:
        grant = grant_of(request, Role.HUB)
        doc_id = request.match_info["document"]
        db = self.server.db
        record = await db.call(get_document, db.sync, doc_id) if ID_RE.fullmatch(doc_id) else None
        if record is None:
            raise problem(404, "unknown_document", f"no document {doc_id[:40]!r}")
        if not self.docs.hub_may_see(grant.device_id, record.booth, record.pairing, record.ticket):
            raise problem(403, "forbidden",
                           "only the hub serving this document's session may download it")
        if record.status == "deleted":
            raise problem(410, "deleted", "the document was deleted by the retention rule")
        await db.call(audit, db.sync, self.server.clock(), grant.device_id,
                      "document_downloaded", record.id, {"ticket": record.ticket})
        return web.FileResponse(blob_path(self.docs.root, record.sha256),
                                headers={"Content-Type": record.content_type,
                                         "X-Checksum-SHA256": record.sha256})

    async def list_for_ticket(self, request: web.Request) -> web.Response:
        grant = grant_of(request, Role.HUB)
        ticket = request.query.get("ticket", "")
        if not ticket or len(ticket) > 80:
            raise problem(400, "bad_request", "query parameter ticket= is required")
        db = self.server.db
        records = [r for r in await db.call(list_documents, db.sync, ticket)
                   if r.kind != RECORDING_KIND]  # the recordings: /api/recordings
        visible = [r for r in records
                   if self.docs.hub_may_see(grant.device_id, r.booth, r.pairing, r.ticket)]
        if records and not visible:
            raise problem(403, "forbidden", "only the hub serving this ticket may list it")
        return web.json_response({"ticket": ticket, "documents": [r.to_json() for r in visible]})


def setup(app: web.Application, server: BranchServer) -> None:
    """Add the document store's tables, routes, DocUpdate handling and retention sweep."""
    store = DocumentStore(server)
    routes = DocumentRoutes(store)
    app[DOCUMENTS_KEY] = store
    server.on_start.append(store.start)
    server.on_stop.append(store.stop)
    server.handlers[p.DocUpdate.TYPE] = store.on_doc_update
    app.router.add_post("/api/documents", routes.open_upload)
    app.router.add_get("/api/documents", routes.list_for_ticket)
    app.router.add_route("HEAD", "/api/documents/uploads/{upload}", routes.upload_status)
    app.router.add_get("/api/documents/uploads/{upload}", routes.upload_status, allow_head=False)
    app.router.add_put("/api/documents/uploads/{upload}", routes.put_chunk)
    app.router.add_get("/api/documents/{document}", routes.download)
