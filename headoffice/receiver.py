"""Receiving bundles: a resumable upload whose every state is in PostgreSQL and the blob
directory, so that any head-office process may continue what another began.

- ``POST /api/bundles`` ``{"reference", "sha256", "size"}``: the claim's bundle is already
  stored: ``200 {"state": "stored", "duplicate": true}`` (the acknowledgement again); another
  bundle is stored for that claim: ``409``; else ``201 {"state": "uploading", "upload",
  "offset"}`` (an upload of the same bytes already begun is continued, whoever began it).
- ``PUT /api/bundles/uploads/{id}?offset=N``: the next chunk; ``200 {"offset"}``; another
  offset: ``409 {"offset": the one the head office has}``.
- ``POST /api/bundles/uploads/{id}/finish``: the whole file's SHA-256, the signature against
  the branch's registered key, every file's hash and the audit chain are checked; then the
  bundle is stored once (``UNIQUE (branch, reference)``) and acknowledged ``201 {"state":
  "stored"}``; a bundle that fails is refused ``422 {"problems": [...]}`` and recorded in
  ``refusals``.

Each step on one upload holds a PostgreSQL advisory lock on it, so two processes never write
the same part file at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from typing import Any

import asyncpg
from aiohttp import web

from bilik.evidence import bundle, keys
from bilik.evidence.errors import BundleInvalid
from headoffice import crashpoint, limits
from headoffice.blobs import Blobs
from headoffice.metrics import HeadOfficeMetrics
from headoffice.problems import problem

log = logging.getLogger(__name__)

SHA256_RE = re.compile(r"\A[0-9a-f]{64}\Z")
REFERENCE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
UPLOAD_RE = re.compile(r"\Au-[0-9a-f]{32}\Z")


def upload_id(branch: str, sha256: str) -> str:
    """The same bytes from the same branch are one upload, whichever process is asked."""
    return "u-" + hashlib.sha256(f"{branch}|{sha256}".encode()).hexdigest()[:32]


def _stored(reference: str, sha256: str, *, duplicate: bool, status: int) -> web.Response:
    return web.json_response({"state": "stored", "reference": reference, "sha256": sha256,
                              "duplicate": duplicate}, status=status)


class Receiver:
    def __init__(self, pool: asyncpg.Pool, blobs: Blobs, metrics: HeadOfficeMetrics) -> None:
        self.pool = pool
        self.blobs = blobs
        self.metrics = metrics

    async def open(self, request: web.Request, branch: str) -> web.Response:
        body = await _json_body(request)
        reference, sha, size = body.get("reference"), body.get("sha256"), body.get("size")
        if not isinstance(reference, str) or not REFERENCE_RE.fullmatch(reference):
            raise problem(400, "bad_request", "reference must be a claim reference (letters, "
                          "digits, '-', at most 64)")
        if not isinstance(sha, str) or not SHA256_RE.fullmatch(sha):
            raise problem(400, "bad_request", "sha256 must be 64 lower-case hex digits")
        if isinstance(size, bool) or not isinstance(size, int) or not (
                0 < size <= limits.MAX_BUNDLE_BYTES):
            raise problem(400, "bad_request",
                          f"size must be a whole number of bytes from 1 to "
                          f"{limits.MAX_BUNDLE_BYTES}")
        existing = await self.pool.fetchval(
            "SELECT sha256 FROM bundles WHERE branch=$1 AND reference=$2", branch, reference)
        if existing == sha:
            self.metrics.duplicates.inc()
            return _stored(reference, sha, duplicate=True, status=200)
        if existing is not None:
            raise problem(409, "conflict", f"another bundle of claim {reference} (SHA-256 "
                          f"{existing[:12]}…) is stored already; a claim has one bundle")
        uid = upload_id(branch, sha)
        row = await self.pool.fetchrow(
            "INSERT INTO uploads (id, branch, reference, sha256, size) VALUES ($1, $2, $3, $4, "
            "$5) ON CONFLICT (id) DO UPDATE SET updated=now() "
            "RETURNING reference, size, received", uid, branch, reference, sha, size)
        if row["reference"] != reference or row["size"] != size:
            raise problem(409, "conflict", "these bytes were announced before as claim "
                          f"{row['reference']} of {row['size']} bytes")
        return web.json_response({"state": "uploading", "upload": uid,
                                  "offset": row["received"], "size": size}, status=201)

    async def _locked_upload(self, conn: Any, uid: str, branch: str) -> Any:
        if not UPLOAD_RE.fullmatch(uid):
            raise problem(404, "not_found", "no such upload")
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", uid)
        row = await conn.fetchrow("SELECT * FROM uploads WHERE id=$1 AND branch=$2", uid, branch)
        return row

    async def put(self, request: web.Request, branch: str) -> web.Response:
        uid = request.match_info["upload"]
        try:
            offset = int(request.query.get("offset", ""))
        except ValueError:
            raise problem(400, "bad_request", "offset must be a whole number") from None
        chunk = await request.read()  # bounded by the app's client_max_size
        if not chunk:
            raise problem(400, "bad_request", "an empty chunk")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked_upload(conn, uid, branch)
            if row is None:
                raise problem(404, "not_found", "no such upload (finished, or never opened)")
            if offset != row["received"]:
                return web.json_response({"error": "offset_mismatch", "detail":
                                          f"the head office has {row['received']} bytes",
                                          "offset": row["received"]}, status=409)
            if offset + len(chunk) > row["size"]:
                raise problem(400, "too_long", f"the upload was announced as {row['size']} "
                              "bytes")
            await asyncio.to_thread(self.blobs.write_at, self.blobs.part(uid), offset, chunk)
            crashpoint.reached("headoffice.chunk_written")
            await conn.execute("UPDATE uploads SET received=$2, updated=now() WHERE id=$1",
                               uid, offset + len(chunk))
        self.metrics.bytes.inc(len(chunk))
        crashpoint.reached("headoffice.chunk_committed")
        return web.json_response({"offset": offset + len(chunk)})

    async def finish(self, request: web.Request, branch: str) -> web.Response:
        uid = request.match_info["upload"]
        started = asyncio.get_running_loop().time()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked_upload(conn, uid, branch)
            if row is None:
                raise problem(404, "not_found", "no such upload (finished, or never opened): "
                              "open it again")
            if row["received"] != row["size"]:
                return web.json_response({"error": "incomplete", "detail": f"{row['received']} "
                                          f"of {row['size']} bytes received",
                                          "offset": row["received"]}, status=409)
            reference, sha = row["reference"], row["sha256"]
            target = self.blobs.bundle(branch, sha)
            part = self.blobs.part(uid)
            source = part if part.exists() else target  # moved before a crash: check it there
            if not source.exists():  # the blob directory lost it: send it again from the start
                await conn.execute("UPDATE uploads SET received=0, updated=now() WHERE id=$1",
                                   uid)
                return web.json_response({"error": "incomplete", "detail": "the received bytes "
                                          "are gone; send the bundle again", "offset": 0},
                                         status=409)
            pem = await conn.fetchval("SELECT public_key FROM branches WHERE id=$1", branch)
            problems = await asyncio.to_thread(self._check, source, sha, branch, reference,
                                               str(pem).encode())
            if problems:
                await conn.execute(
                    "INSERT INTO refusals (branch, reference, sha256, problems) VALUES ($1, $2, "
                    "$3, $4::jsonb)", branch, reference, sha, json.dumps(problems))
                await conn.execute("DELETE FROM uploads WHERE id=$1", uid)
                await asyncio.to_thread(part.unlink, missing_ok=True)
                self.metrics.refused.inc()
                log.warning("bundle refused", extra={"fields": {
                    "branch": branch, "reference": reference, "problems": problems}})
                return web.json_response({"error": "bundle_invalid", "detail": problems[0],
                                          "problems": problems}, status=422)
            if source is part:
                await asyncio.to_thread(self.blobs.move_into_place, part, target)
            crashpoint.reached("headoffice.moved")
            manifest = await asyncio.to_thread(bundle.read_json, target, "manifest.json")
            inserted = await conn.fetchval(
                "INSERT INTO bundles (branch, reference, sha256, size, key_id, files, manifest) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (branch, reference) "
                "DO NOTHING RETURNING id", branch, reference, sha, row["size"],
                manifest["signer"]["key_id"], len(manifest["files"]), json.dumps(manifest))
            await conn.execute("DELETE FROM uploads WHERE id=$1", uid)
            if inserted is None:
                existing = await conn.fetchval(
                    "SELECT sha256 FROM bundles WHERE branch=$1 AND reference=$2", branch,
                    reference)
                if existing != sha:
                    raise problem(409, "conflict", f"another bundle of claim {reference} is "
                                  "stored already")
                self.metrics.duplicates.inc()
                return _stored(reference, sha, duplicate=True, status=200)
        self.metrics.stored.inc()
        self.metrics.verify_seconds.observe(asyncio.get_running_loop().time() - started)
        return _stored(reference, sha, duplicate=False, status=201)

    async def sweep_stale(self, older_than_s: float) -> int:
        """Drop uploads nobody continued for ``older_than_s`` (a branch gone, a bundle
        refused on the branch's side); returns how many."""
        rows = await self.pool.fetch(
            "DELETE FROM uploads WHERE updated < now() - make_interval(secs => $1) "
            "RETURNING id", older_than_s)
        for row in rows:
            await asyncio.to_thread(self.blobs.part(row["id"]).unlink, missing_ok=True)
        return len(rows)

    @staticmethod
    def _check(source: Any, sha: str, branch: str, reference: str, pem: bytes) -> list[str]:
        """Every problem with the received file, or none (runs in a thread)."""
        actual = Blobs.sha256(source)
        if actual != sha:
            return [f"the bytes received (SHA-256 {actual[:12]}…) are not the ones announced "
                    f"({sha[:12]}…)"]
        try:
            verified = bundle.verify(source, keys.parse_public(pem, f"branch {branch}'s key"))
        except BundleInvalid as exc:
            return exc.problems
        problems = []
        if verified.branch != branch:
            problems.append(f"the bundle is branch {verified.branch}'s, sent by {branch}")
        if verified.reference != reference:
            problems.append(f"the bundle is claim {verified.reference}'s, announced as "
                            f"{reference}")
        return problems


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.content.read(limits.MAX_JSON_BYTES + 1)
    if len(raw) > limits.MAX_JSON_BYTES:
        raise problem(413, "too_large", f"at most {limits.MAX_JSON_BYTES} bytes of JSON")
    try:
        body = json.loads(raw)
    except ValueError:
        raise problem(400, "bad_request", "the body must be JSON") from None
    if not isinstance(body, dict):
        raise problem(400, "bad_request", "the body must be a JSON object")
    return body
