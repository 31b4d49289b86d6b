"""The session recordings on the branch manager's page: a case's recordings (or today's)
listed, and each played in the page's ``<video>``, read in byte ranges so it can seek.

    GET /manager/api/recordings[?case=TICKET|REFERENCE]   the case's recordings (no case:
                                                          today's), newest first
    GET /manager/api/recordings/{document}                the WebM file (Range: bytes=...)

Only a signed-in manager (the page's session cookie; a token is refused like on every
manager route). The recordings are the documents of kind ``recording`` the hubs uploaded
(:mod:`signaling.recordings`); the first read of a file (no range, or from byte 0) is audited
as ``recording_viewed`` by the manager.
"""

from __future__ import annotations

from aiohttp import web

from signaling import limits
from signaling import managerrecords as records
from signaling.documentrecords import ID_RE, blob_path
from signaling.manager import MANAGER_KEY, ManagerPage
from signaling.managersessions import COOKIE
from signaling.problems import problem

CASE_MAX_CHARS = 80
CONTENT_TYPE = "video/webm"


def _service(request: web.Request) -> ManagerPage:
    return request.app[MANAGER_KEY]


async def _session_manager(request: web.Request) -> str:
    # ``?background=1``: the page listing recordings by itself, not the manager's activity
    # (the same rule as the overview's polls), so an unattended page still signs out.
    session = await _service(request).active(request.cookies.get(COOKIE),
                                             request.headers.get("Authorization", ""),
                                             touch=request.query.get("background") != "1")
    return session.manager


async def listing(request: web.Request) -> web.Response:
    await _session_manager(request)
    case = request.query.get("case", "").strip()
    if len(case) > CASE_MAX_CHARS or any(ord(c) < 32 for c in case):
        raise problem(400, "bad_case", f"case: a ticket or claim reference of at most "
                      f"{CASE_MAX_CHARS} printable characters")
    service = _service(request)
    db = service.server.db
    found = await db.call(records.recordings, db.sync, case, service.queue.day_start(),
                          limits.MANAGER_RECORDINGS_LISTED)
    return web.json_response({"case": case, "recordings": found},
                             headers={"Cache-Control": "no-store"})


async def play(request: web.Request) -> web.StreamResponse:
    manager = await _session_manager(request)
    doc_id = request.match_info["document"]
    service = _service(request)
    db = service.server.db
    record = await db.call(records.recording, db.sync, doc_id) if ID_RE.fullmatch(
        doc_id) else None
    if record is None:
        raise problem(404, "unknown_recording", f"no recording {doc_id[:40]!r}")
    if record["status"] == "deleted":
        raise problem(410, "deleted", "the recording was deleted by the retention rule")
    path = blob_path(service.server.config.data_dir / "documents", str(record["sha256"]))
    if not path.exists():
        raise problem(410, "deleted", "the recording's file is no longer kept")
    if request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):
        await db.call(db.sync.audit, service.server.clock(), manager, "recording_viewed",
                      record["id"], {"ticket": record["ticket"]})
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPE,
                                           "Cache-Control": "private, no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/manager/api/recordings", listing)
    app.router.add_get("/manager/api/recordings/{document}", play)
