"""The branch's side of the head office's upload protocol (docs/headoffice.md).

``POST /api/bundles`` opens (or finds) an upload of one bundle, ``PUT
/api/bundles/uploads/{id}?offset=N`` sends the next chunk, ``POST .../finish`` asks the
head office to verify and store it; its answer is the acknowledgement. Every request is
signed with the branch's evidence key (bilik.evidence.requestauth). An upload cut anywhere
resumes from the offset the head office has, whichever of its processes answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bilik.evidence import requestauth
from signaling.errors import SignalingError

CHUNK_BYTES = 256 * 1024  # one PUT
REQUEST_TIMEOUT_S = 30.0
MAX_REPLY_BYTES = 1024 * 1024
MAX_ROUNDS = 4  # openings of one upload per send (each after the head office moved on)


class LinkError(SignalingError):
    """The head office could not be reached or did not answer usably: try again later."""


class BundleRefused(SignalingError):
    """The head office read the bundle and refused it: sending it again will not help."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Ack:
    reference: str
    sha256: str
    duplicate: bool  # the head office had it already (an earlier ack was lost)


class HeadOfficeLink:
    def __init__(self, urls: list[str], branch: str, key: Ed25519PrivateKey,
                 session: aiohttp.ClientSession, clock: Callable[[], float], *,
                 chunk_bytes: int = CHUNK_BYTES) -> None:
        if not urls:
            raise ValueError("no head office URL")
        self.urls = [u.rstrip("/") for u in urls]
        self.branch = branch
        self.key = key
        self.session = session
        self.clock = clock
        self.chunk_bytes = chunk_bytes
        self._current = 0

    def _failover(self) -> None:
        self._current = (self._current + 1) % len(self.urls)

    async def request(self, method: str, path_qs: str, *, payload: Any = None,
                      data: bytes | None = None) -> tuple[int, Any]:
        """(status, JSON body) of one signed request; :class:`LinkError` when unreachable."""
        url = self.urls[self._current] + path_qs
        headers = requestauth.sign(self.key, self.branch, method, path_qs, self.clock())
        try:
            async with self.session.request(
                    method, url, json=payload, data=data, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as resp:
                raw = await resp.content.read(MAX_REPLY_BYTES)
                body: Any = None
                with contextlib.suppress(ValueError):
                    body = json.loads(raw)
                if resp.status >= 500 or (body is None and resp.status != 204):
                    self._failover()
                    raise LinkError(f"head office {url} answered {resp.status}")
                return resp.status, body
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._failover()
            raise LinkError(f"head office {url} unreachable: {exc or type(exc).__name__}"
                            ) from None

    @staticmethod
    def _problem(status: int, body: Any) -> str:
        if isinstance(body, dict):
            return f"{status} {body.get('error', '')}: {body.get('detail', '')}"
        return str(status)

    async def send(self, path: Path, reference: str, sha256: str, size: int,
                   on_resume: Callable[[int], Any] | None = None) -> Ack:
        """Upload one bundle file (resuming where the head office is) until acknowledged.

        An upload another try finished meanwhile (404), or one the head office wants resumed
        (409 with an offset), is opened again: the answer is then the acknowledgement, or
        the offset to go on from.
        """
        for _round in range(MAX_ROUNDS):
            status, body = await self.request(
                "POST", "/api/bundles", payload={"reference": reference, "sha256": sha256,
                                                 "size": size})
            if status == 409:
                raise BundleRefused([self._problem(status, body)])
            if status not in (200, 201) or not isinstance(body, dict):
                raise LinkError(f"opening the upload: {self._problem(status, body)}")
            if body.get("state") == "stored":
                return Ack(reference, sha256, duplicate=True)
            upload, offset = str(body["upload"]), int(body["offset"])
            if offset > 0 and on_resume is not None:
                on_resume(offset)
            if not await self._chunks(path, upload, offset, size):
                continue
            status, body = await self.request("POST", f"/api/bundles/uploads/{upload}/finish")
            if status == 422 and isinstance(body, dict):
                raise BundleRefused([str(p) for p in body.get("problems", [])]
                                    or [self._problem(status, body)])
            if status == 404 or (status == 409 and isinstance(body, dict) and "offset" in body):
                continue
            if status == 409:
                raise BundleRefused([self._problem(status, body)])
            if status not in (200, 201) or not isinstance(body, dict) or body.get(
                    "state") != "stored":
                raise LinkError(f"finishing the upload: {self._problem(status, body)}")
            return Ack(reference, sha256, duplicate=bool(body.get("duplicate")))
        raise LinkError(f"the upload of {reference} did not settle in {MAX_ROUNDS} rounds")

    async def _chunks(self, path: Path, upload: str, offset: int, size: int) -> bool:
        """Send the chunks from ``offset``; False when the upload is gone (open it again)."""
        while offset < size:
            chunk = await asyncio.to_thread(_read_at, path, offset, self.chunk_bytes)
            status, body = await self.request(
                "PUT", f"/api/bundles/uploads/{upload}?offset={offset}", data=chunk)
            if status == 409 and isinstance(body, dict) and "offset" in body:
                offset = int(body["offset"])  # the head office has more or less: go on from there
                continue
            if status == 404:
                return False
            if status != 200 or not isinstance(body, dict):
                raise LinkError(f"sending a chunk: {self._problem(status, body)}")
            offset = int(body["offset"])
        return True

    async def bookings(self, day: str) -> list[Any]:
        status, body = await self.request("GET", f"/api/bookings?day={day}")
        if status != 200 or not isinstance(body, dict):
            raise LinkError(f"bookings of {day}: {self._problem(status, body)}")
        return list(body.get("appointments", []))


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size)
