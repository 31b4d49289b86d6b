"""Sending a scanned document to the branch server: resumable, checked, never lost.

A document is first written to the booth's spool (``<data_dir>/spool``, one JPEG and one
small JSON with its kind, checksum and upload id), then sent in chunks over the server's
resumable upload API (:mod:`signaling.documents`) with the device token. When the
connection drops, the uploader waits (capped backoff with jitter), asks the server how many
bytes it has, and sends the rest; after a restart of the agent the spool is still there.
Only when the server confirms the document (its checksum matched) is the booth's copy
deleted. A refusal that will not get better by retrying (not in session, not a picture,
too large, checksum) raises :class:`UploadRefused` and the spool entry is removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bilik.backoff import Backoff
from booth import limits
from booth.errors import BoothError

log = logging.getLogger(__name__)


class UploadRefused(BoothError):
    """The server refused the document for a reason that retrying will not fix."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"document refused ({status} {code}): {detail}")
        self.status = status
        self.code = code
        self.detail = detail


def http_base(ws_url: str) -> str:
    """``ws://host:port/ws`` -> ``http://host:port`` (wss -> https)."""
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))


@dataclass
class Spooled:
    kind: str
    sha256: str
    size: int
    path: Path
    upload: str = ""


class Uploader:
    def __init__(self, base_url: str, token: str, spool_dir: Path, *,
                 chunk_bytes: int = limits.DOC_CHUNK_BYTES,
                 rand: Callable[[], float] = random.random,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.spool_dir = spool_dir
        self.chunk_bytes = chunk_bytes
        self.rand = rand
        self.ssl_context = ssl_context  # wss: the branch CA and the booth's certificate
        self.retries = 0  # attempts started again after a network failure
        self.resumes = 0  # times the server had a different offset (a chunk was cut)
        self._http: aiohttp.ClientSession | None = None

    async def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            # An enrolled booth is known by its certificate and sends no token.
            self._http = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
                connector=aiohttp.TCPConnector(ssl=self.ssl_context or True),
                timeout=aiohttp.ClientTimeout(total=limits.DOC_HTTP_TIMEOUT_S))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- spool --------------------------------------------------------------------------------

    def spool(self, kind: str, data: bytes) -> Spooled:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256(data).hexdigest()
        item = Spooled(kind, sha, len(data), self.spool_dir / f"{kind}-{sha[:16]}.jpg")
        item.path.write_bytes(data)
        self._save_meta(item)
        return item

    def _meta(self, item: Spooled) -> Path:
        return item.path.with_suffix(".json")

    def _save_meta(self, item: Spooled) -> None:
        tmp = self._meta(item).with_suffix(".tmp")
        tmp.write_text(json.dumps({"kind": item.kind, "sha256": item.sha256, "size": item.size,
                                   "upload": item.upload}))
        os.replace(tmp, self._meta(item))

    def pending(self) -> list[Spooled]:
        """Documents captured but not yet confirmed by the server (e.g. after a restart)."""
        out = []
        for meta in sorted(self.spool_dir.glob("*.json")):
            try:
                data = json.loads(meta.read_text())
                item = Spooled(str(data["kind"]), str(data["sha256"]), int(data["size"]),
                               meta.with_suffix(".jpg"), str(data.get("upload", "")))
            except (OSError, ValueError, KeyError) as exc:
                log.warning("spool entry %s unreadable (%s); dropped", meta, exc)
                meta.unlink(missing_ok=True)
                continue
            if item.path.is_file():
                out.append(item)
        return out

    def forget(self, item: Spooled) -> None:
        item.path.unlink(missing_ok=True)
        self._meta(item).unlink(missing_ok=True)

    def clear(self) -> int:
        """Delete everything in the spool (the participant has gone)."""
        count = 0
        if self.spool_dir.is_dir():
            for path in self.spool_dir.iterdir():
                path.unlink(missing_ok=True)
                count += 1
        return count

    # -- sending --------------------------------------------------------------------------------

    async def send(self, item: Spooled) -> str:
        """Upload until the server confirms; returns its document id. Retries network
        failures for ever (with capped, jittered backoff); raises :class:`UploadRefused`."""
        backoff = Backoff(limits.DOC_UPLOAD_RETRY_MIN_S, limits.DOC_UPLOAD_RETRY_MAX_S,
                          rand=self.rand)
        while True:
            try:
                document = await self._attempt(item)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.retries += 1
                delay = backoff.next_delay()
                log.info("document upload interrupted (%s); retrying in %.1f s",
                         str(exc) or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            except UploadRefused:
                self.forget(item)
                raise
            self.forget(item)  # the server has it, checked: the booth keeps no copy
            return document

    async def _attempt(self, item: Spooled) -> str:
        http = await self._session()
        if not item.upload:
            async with http.post(f"{self.base_url}/api/documents", json={
                    "kind": item.kind, "size": item.size, "sha256": item.sha256}) as r:
                body = await _body(r)
                if r.status != 201:
                    raise _refusal(r.status, body)
            item.upload = str(body["upload"])
            self._save_meta(item)
        url = f"{self.base_url}/api/documents/uploads/{item.upload}"
        async with http.get(url) as r:
            body = await _body(r)
            if r.status == 404:  # dropped by the server (stale): open a new upload
                item.upload = ""
                self._save_meta(item)
                raise aiohttp.ClientError("upload unknown to the server; starting again")
            if r.status != 200:
                raise _refusal(r.status, body)
        if body.get("document"):
            return str(body["document"])
        offset = int(body["offset"])
        if offset:
            self.resumes += 1
        data = await asyncio.to_thread(item.path.read_bytes)
        while True:
            chunk = data[offset:offset + self.chunk_bytes]
            async with http.put(f"{url}?offset={offset}", data=chunk) as r:
                body = await _body(r)
                if r.status == 201:
                    return str(body["document"])
                if r.status == 409:
                    self.resumes += 1
                    offset = int(body["offset"])
                    continue
                if r.status != 200:
                    raise _refusal(r.status, body)
                offset = int(body["offset"])


async def send_reading(uploader: Uploader, document: str, reading: dict[str, Any]) -> bool:
    """Store what OCR read from ``document`` with it on the server, once; ``False`` (and
    logged) when it could not be: the document itself is safe, the officer reads it."""
    payload = {k: reading[k] for k in ("nik", "name", "confidence", "people", "problems")}
    payload["problems"] = [p[:300] for p in payload["problems"]][:10]
    try:
        http = await uploader._session()
        async with http.post(f"{uploader.base_url}/api/documents/{document}/reading",
                             json=payload) as r:
            if r.status == 200:
                return True
            log.warning("reading of %s refused: %s %s", document, r.status, await r.text())
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("reading of %s not sent: %s", document, str(exc) or type(exc).__name__)
    return False


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
