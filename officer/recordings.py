"""The hub's recordings: started on the participant's consent, uploaded after the session.

* **When**: a booth's ``Consent`` (relayed by the server from the booth, with the
  branch's ``recording`` setting) that is accepted starts the recording of that booth's
  session (:class:`~officer.recording.SessionRecording`, fed by the taps of
  :class:`~officer.peers.HubPeer`); it ends when the booth's slot is freed (released,
  dropped, the hub stopping) or a new ticket comes to the booth. Without an accepted
  consent nothing is recorded. A refusal is shown on the booth's tile: with ``required``
  the officer is told the recording is required and decides; with ``optional`` the
  session goes on unrecorded.
* **Where**: ``recording_dir`` of the hub, one ``<ticket>_<booth>_<UTC start>.webm`` per
  session, and beside it a ``.json`` (its tags, and the server's document id once
  uploaded).
* **Upload**: after the session, through the server's resumable upload
  (``/api/recordings``, :mod:`signaling.recordings`), retried with capped backoff; a
  file left by a hub that crashed (a ``.json`` without a document) is uploaded when the
  hub starts again. The local copy is deleted once the server confirmed it (checksum).
* **The console**: each recent recording with its state, played from the server
  (``/console/recordings/{document}``, byte ranges passed through).
"""

from __future__ import annotations

import asyncio
import collections
import enum
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from bilik import tls
from bilik.backoff import Backoff
from officer import limits
from officer.recording import RecordingError, RecordingInfo, SessionRecording
from signaling import protocol as p

if TYPE_CHECKING:
    from officer.hub import Hub
    from officer.peers import HubPeer

log = logging.getLogger(__name__)


class RecordingState(enum.StrEnum):
    RECORDING = "recording"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    REFUSED = "refused"  # the server refused the file (it says why); the local copy is kept


class UploadRefused(RecordingError):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"recording refused ({status} {code}): {detail}")
        self.status = status
        self.code = code
        self.detail = detail


@dataclass
class Entry:
    """One recording as the console lists it."""

    info: RecordingInfo
    path: Path
    state: RecordingState
    duration_s: float = 0.0
    document: str = ""
    upload: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"booth": self.info.booth, "ticket": self.info.ticket,
                "officer": self.info.officer, "started_at": self.info.started_at,
                "file": self.path.name, "state": self.state.value,
                "duration_s": round(self.duration_s, 2), "document": self.document,
                "detail": self.detail}

    def sidecar(self) -> Path:
        return self.path.with_suffix(".json")

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**self.info.to_json(), "duration_s": self.duration_s,
                                   "upload": self.upload, "document": self.document}))
        os.replace(tmp, self.sidecar())


def file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


class Recordings:
    def __init__(self, hub: Hub, directory: Path, *, enabled: bool = True) -> None:
        self.hub = hub
        self.directory = directory
        self.enabled = enabled
        self.entries: collections.deque[Entry] = collections.deque(
            maxlen=limits.RECORDINGS_LISTED)
        self._uploads: asyncio.Queue[Entry] = asyncio.Queue()
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # wss: the branch CA and the hub's certificate; an enrolled hub sends no token.
        self._http = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self.hub.token}"} if self.hub.token else {},
            timeout=aiohttp.ClientTimeout(total=limits.RECORDING_HTTP_TIMEOUT_S),
            connector=aiohttp.TCPConnector(ssl=tls.client_context(self.hub.config) or True))
        for entry in await asyncio.to_thread(self._left_over):
            self.entries.append(entry)
            self._uploads.put_nowait(entry)
        self.hub.spawn(self._upload_loop(), "hub-recording-upload")

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- consent and the session ----------------------------------------------------------

    def consent(self, msg: p.Consent) -> None:
        """The participant answered: record from now on, or never for this ticket."""
        peer = self.hub.peers.get(msg.pairing)
        if peer is None or peer.booth != msg.peer:
            return
        peer.consent = {"accepted": msg.accepted, "required": msg.required,
                        "wording": msg.wording, "at": msg.at, "ticket": msg.ticket}
        if msg.accepted and self.enabled and peer.recording is None:
            self.begin(peer, msg.ticket)
        elif not msg.accepted:
            log.warning("participant refused the recording", extra={"fields": {
                "booth": peer.booth, "ticket": msg.ticket, "required": msg.required}})
        self.hub.changed.set()

    def begin(self, peer: HubPeer, ticket: str = "") -> SessionRecording:
        """Record ``peer``'s session from now on (``ticket``: the server's name of the case,
        ``pairing:<id>`` for a session outside the queue)."""
        info = RecordingInfo(peer.booth, self.hub.desk.officer or "", peer.ticket or ticket,
                             peer.pairing, self.hub.clock())
        recording = SessionRecording(self.directory, info, wall=self.hub.clock)
        entry = Entry(info, recording.path, RecordingState.RECORDING)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            entry.save()
        except OSError as exc:
            log.error("cannot record %s: %s", peer.booth, exc)
            return recording
        recording.start()
        peer.recording = recording
        self.entries.append(entry)
        log.info("recording", extra={"fields": {"booth": peer.booth, "file": entry.path.name}})
        return recording

    async def finish(self, peer: HubPeer, *, new_case: bool = False) -> None:
        """The session is over (or the booth has a new ticket): close the file and send it
        to the server."""
        if new_case:
            peer.consent = None
            # A session this hub took over (a restart, another hub's case): the consent
            # was given before; the server has it.
            self.hub.spawn(self.restore(peer, peer.ticket), "hub-consent-restore")
        recording, peer.recording = peer.recording, None
        if recording is None:
            return
        result = await asyncio.to_thread(recording.stop)
        entry = self._entry(result.path)
        if entry is None:
            entry = Entry(result.info, result.path, RecordingState.UPLOADING)
            self.entries.append(entry)
        entry.state = RecordingState.UPLOADING
        entry.duration_s = result.duration_s
        entry.detail = recording.error
        await asyncio.to_thread(entry.save)
        log.info("recording done", extra={"fields": {
            "booth": peer.booth, "file": result.path.name, "seconds": result.duration_s,
            "packets": result.packets, "dropped": result.dropped}})
        self._uploads.put_nowait(entry)
        self.hub.changed.set()

    async def restore(self, peer: HubPeer, ticket: str) -> None:
        """The participant's answer for ``ticket`` as the server keeps it, if any: an
        accepted consent goes on being recorded (into a file of its own)."""
        if self._http is None or not ticket:
            return
        try:
            async with self._http.get(f"{self.hub.desk.base}/api/consents",
                                      params={"ticket": ticket}) as r:
                body = await _body(r)
                if r.status != 200:
                    return  # not asked yet (404), or not this hub's
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("consent of %s not read: %s", ticket, str(exc) or type(exc).__name__)
            return
        if self.hub.peers.get(peer.pairing) is not peer or peer.ticket != ticket \
                or peer.consent is not None:
            return  # the session moved on, or the booth answered meanwhile
        self.consent(p.Consent(peer=peer.booth, pairing=peer.pairing, ticket=ticket,
                               wording=str(body.get("wording", "")),
                               accepted=body.get("accepted") is True,
                               required=body.get("required") is True))

    def _entry(self, path: Path) -> Entry | None:
        for entry in self.entries:
            if entry.path == path:
                return entry
        return None

    def _left_over(self) -> list[Entry]:
        """Recordings not confirmed by the server: a crash, or a server that was away."""
        out = []
        for sidecar in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                data = json.loads(sidecar.read_text())
                info = RecordingInfo.from_json(data)
            except (OSError, ValueError, RecordingError) as exc:
                log.warning("recording description %s unreadable: %s", sidecar, exc)
                continue
            path = sidecar.with_suffix(".webm")
            if not path.is_file() or data.get("document"):
                continue
            out.append(Entry(info, path, RecordingState.UPLOADING,
                             float(data.get("duration_s") or 0.0),
                             upload=str(data.get("upload") or "")))
        return out

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: sessions being recorded, files waiting for the server, and the
        packets the recordings lost (a disk that could not keep up)."""
        active = [peer.recording for peer in self.hub.peers.values()
                  if peer.recording is not None]
        return {"active": len(active),
                "waiting_upload": sum(1 for e in self.entries
                                      if e.state is RecordingState.UPLOADING),
                "dropped_packets": sum(r.dropped for r in active),
                "errors": [r.error for r in active if r.error]}

    def status(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in reversed(self.entries)]

    # -- upload -----------------------------------------------------------------------------

    async def _upload_loop(self) -> None:
        while True:
            entry = await self._uploads.get()
            await self.upload(entry)

    async def upload(self, entry: Entry) -> None:
        backoff = Backoff(limits.RECORDING_RETRY_MIN_S, limits.RECORDING_RETRY_MAX_S)
        while True:
            try:
                entry.document = await self._attempt(entry)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                delay = backoff.next_delay()
                log.info("recording upload interrupted (%s); retrying in %.1f s",
                         str(exc) or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            except UploadRefused as exc:
                log.error("%s", exc)
                entry.state = RecordingState.REFUSED
                entry.detail = exc.detail
                self.hub.changed.set()
                return
            break
        entry.state = RecordingState.UPLOADED
        await asyncio.to_thread(self._forget_local, entry)
        log.info("recording uploaded", extra={"fields": {"file": entry.path.name,
                                                         "document": entry.document}})
        self.hub.changed.set()

    @staticmethod
    def _forget_local(entry: Entry) -> None:
        entry.path.unlink(missing_ok=True)
        entry.sidecar().unlink(missing_ok=True)

    async def _attempt(self, entry: Entry) -> str:
        http = self._http
        if http is None:
            raise aiohttp.ClientError("the hub is not started")
        base = f"{self.hub.desk.base}/api/recordings"
        if not entry.upload:
            sha, size = await asyncio.to_thread(file_digest, entry.path)
            async with http.post(base, json={
                    "ticket": entry.info.ticket, "booth": entry.info.booth,
                    "pairing": entry.info.pairing, "size": size, "sha256": sha}) as r:
                body = await _body(r)
                if r.status != 201:
                    raise _refusal(r.status, body)
            entry.upload = str(body["upload"])
            await asyncio.to_thread(entry.save)
        url = f"{base}/uploads/{entry.upload}"
        async with http.get(url) as r:
            body = await _body(r)
            if r.status == 404:  # the server dropped it (stale): open a new one
                entry.upload = ""
                raise aiohttp.ClientError("upload unknown to the server; starting again")
            if r.status != 200:
                raise _refusal(r.status, body)
        if body.get("document"):
            return str(body["document"])
        offset = int(body["offset"])
        while True:
            chunk = await asyncio.to_thread(_read, entry.path, offset,
                                            limits.RECORDING_CHUNK_BYTES)
            async with http.put(f"{url}?offset={offset}", data=chunk) as r:
                body = await _body(r)
                if r.status == 201:
                    return str(body["document"])
                if r.status == 409:
                    offset = int(body["offset"])
                    continue
                if r.status != 200:
                    raise _refusal(r.status, body)
                offset = int(body["offset"])

    async def fetch(self, document: str, range_header: str | None) -> aiohttp.ClientResponse:
        """The server's copy of a recording (the console's ``<video>`` reads it in ranges);
        the caller reads and releases the response."""
        if self._http is None:
            raise aiohttp.ClientError("the hub is not started")
        headers = {"Range": range_header} if range_header else {}
        return await self._http.get(f"{self.hub.desk.base}/api/recordings/{document}",
                                    headers=headers)


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size)


async def _body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _refusal(status: int, body: dict[str, Any]) -> Exception:
    if status >= 500:
        return aiohttp.ClientError(f"server error {status}")
    return UploadRefused(status, str(body.get("error", "")), str(body.get("detail", "")))
