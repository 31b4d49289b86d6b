"""The simulated officer: a small client of the hub's console API, as the browser uses it.

It signs in with the officer's id and PIN (``POST /console/api/sign-in``), reads the
console state (``GET /console/api/state``) and acts with the same POSTs as the page
(``focus``, ``rescan``, ``decision``, each with the ``X-Bilik-Console`` header). One
officer serves up to six booths the way the product intends: greet a new participant
(focus them for a moment) and let them scan their documents at the booth while attending
someone else; once a case's documents are all in, focus it, open each document, and
either ask for one again (now and then) or tick the checklist and approve.

:func:`plan` is the officer's choice of what to do next, a pure function of the cases and
the console state, so it is tested without a hub.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from demo import limits
from demo.branch import Officer
from demo.progress import Progress
from officer.checklists import documents_for

log = logging.getLogger(__name__)

HEADERS = {"X-Bilik-Console": "1"}
READY_STATUSES = frozenset({"uploaded", "accepted"})
RESCAN_REASON = "Foto kurang jelas, mohon pindai ulang / The photo is not clear, please rescan"
GREET_WITHOUT_VIDEO_S = 20.0  # a call that is slow to connect: greet anyway (by voice)


class Stage(enum.StrEnum):
    NEW = "new"  # paired, not greeted yet
    SCANNING = "scanning"  # greeted; the participant scans the documents at the booth
    DECIDED = "decided"


@dataclass
class Case:
    ticket: str  # a case is a ticket at a booth (a pairing may be renamed or redone)
    booth: str
    seen_at: float
    stage: Stage = Stage.NEW
    greeted_at: float = 0.0
    rescan_asked: bool = False
    rescan_of: str = ""  # the document asked again


class Act(enum.StrEnum):
    GREET = "greet"
    REVIEW = "review"  # documents all in: look, then rescan or approve
    GIVE_UP = "give_up"  # documents did not all come: decide "incomplete"


@dataclass(frozen=True)
class Action:
    act: Act
    case: Case


def documents_ready(booth: dict[str, Any], expected: list[str]) -> bool:
    """Every expected kind's newest document is in the server's store (or accepted)."""
    newest: dict[str, dict[str, Any]] = {}
    for doc in booth.get("documents", []):
        kind = str(doc.get("kind", ""))
        if kind not in newest or float(doc.get("at", 0)) >= float(newest[kind].get("at", 0)):
            newest[kind] = doc
    return all(newest.get(k, {}).get("status") in READY_STATUSES for k in expected)


def claim_data(rng: random.Random) -> dict[str, str]:
    """The claim data a simulated officer records (signaling.claimdata checks it): a NIK of
    the right structure (Jakarta, a birth date in the 1970s), a name, a bank account. The
    demo's documents are drawings, so their OCR readings are not used."""
    born = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(70, 79)}"
    return {"nik": f"317101{born}{rng.randint(1, 9999):04d}", "name": "Peserta Demo",
            "bank": "BRI", "account": "".join(str(rng.randint(0, 9)) for _ in range(15))}


def plan(cases: dict[str, Case], state: dict[str, Any], now: float) -> Action | None:
    """What the officer does next: finish a case whose documents are in, else greet."""
    booths = {b.get("ticket"): b for b in state.get("booths", [])}
    for ticket, case in cases.items():
        booth = booths.get(ticket)
        if booth is None or case.stage is not Stage.SCANNING:
            continue
        if documents_ready(booth, documents_for(str(booth.get("service", "")))):
            return Action(Act.REVIEW, case)
        if now - case.greeted_at > limits.DOCUMENTS_TIMEOUT_S:
            return Action(Act.GIVE_UP, case)
    for ticket, case in cases.items():
        booth = booths.get(ticket)
        if booth is None or case.stage is not Stage.NEW:
            continue
        if booth.get("state") == "receiving" or now - case.seen_at > GREET_WITHOUT_VIDEO_S:
            return Action(Act.GREET, case)
    return None


@dataclass
class SimulatedOfficer:
    officer: Officer
    progress: Progress
    rng: random.Random
    clock: Callable[[], float] = time.time
    cases: dict[str, Case] = field(default_factory=dict)
    decisions: int = 0
    signed_in: bool = False

    @property
    def api(self) -> str:
        return self.officer.console + "api/"

    async def run(self, http: aiohttp.ClientSession) -> None:
        await self.sign_in(http)
        while True:
            state = await self._get(http, self.api + "state")
            if state is None:
                await asyncio.sleep(limits.POLL_S)
                continue
            self._track(state)
            action = plan(self.cases, state, self.clock())
            if action is None:
                await asyncio.sleep(limits.POLL_S)
                continue
            booth = next(b for b in state["booths"] if b.get("ticket") == action.case.ticket)
            await self._do(http, action, booth)

    async def sign_in(self, http: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + limits.SIGN_IN_TIMEOUT_S
        body = {"officer": self.officer.id, "pin": self.officer.pin}
        while True:
            ok, reply = await self._post(http, "sign-in", body)
            if ok:
                self.signed_in = True
                log.info("officer signed in", extra={"fields": {"officer": self.officer.id}})
                return
            if reply.get("error") in ("unauthorized", "forbidden", "bad_request"):
                raise RuntimeError(f"{self.officer.id} cannot sign in: {reply}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.officer.id} could not sign in: {reply}")
            await asyncio.sleep(1.0)

    def _track(self, state: dict[str, Any]) -> None:
        now = self.clock()
        live = set()
        for booth in state.get("booths", []):
            ticket = str(booth.get("ticket") or "")
            live.add(ticket)
            if ticket and ticket not in self.cases:
                self.cases[ticket] = Case(ticket, str(booth["booth"]), now)
        for ticket in list(self.cases):
            if ticket not in live:
                del self.cases[ticket]

    async def _do(self, http: aiohttp.ClientSession, action: Action,
                  booth: dict[str, Any]) -> None:
        case = action.case
        await self._post(http, "focus", {"booth": case.booth})
        await asyncio.sleep(self.rng.uniform(*limits.TALK_S))
        if action.act is Act.GREET:
            case.stage, case.greeted_at = Stage.SCANNING, self.clock()
            return
        documents = booth.get("documents", [])
        for doc in documents:  # the officer opens each document, as the viewer does
            await self._fetch(http, self.officer.console + f"documents/{doc['id']}")
        ready = [d for d in documents if d.get("status") in READY_STATUSES]
        if (action.act is Act.REVIEW and ready and not case.rescan_asked
                and self.rng.random() < limits.RESCAN_SHARE):
            doc = self.rng.choice(ready)
            ok, reply = await self._post(http, f"booths/{case.booth}/rescan",
                                         {"document": doc["id"], "reason": RESCAN_REASON})
            if ok:
                case.rescan_asked, case.rescan_of = True, str(doc["id"])
                case.greeted_at = self.clock()
                self.progress.rescans += 1
                log.info("rescan asked", extra={"fields": {"booth": case.booth,
                                                           "kind": doc.get("kind")}})
                return
            log.warning("rescan refused: %s", reply)
        outcome = "approved" if action.act is Act.REVIEW else "incomplete"
        checklist = await self._checklist(http, str(booth.get("service", "")))
        ok, reply = await self._post(http, f"booths/{case.booth}/decision", {
            "outcome": outcome, "checklist": checklist if outcome == "approved" else [],
            "note": "demo", "claim": claim_data(self.rng)})
        if ok:
            case.stage = Stage.DECIDED
            self.decisions += 1
            self.progress.decided(outcome)
            log.info("decision recorded", extra={"fields": {
                "booth": case.booth, "outcome": outcome, "reference": reply.get("reference")}})
        else:
            log.warning("decision refused: %s", reply)

    async def _checklist(self, http: aiohttp.ClientSession, service: str) -> list[str]:
        lists = await self._get(http, self.api + "checklists") or {}
        items = lists.get("checklists", {}).get(service) or lists.get("checklists", {}).get(
            lists.get("default", ""), [])
        return [str(i["key"]) for i in items]

    async def _get(self, http: aiohttp.ClientSession, url: str) -> Any:
        try:
            async with http.get(url) as reply:
                if reply.status != 200:
                    return None
                return await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def _fetch(self, http: aiohttp.ClientSession, url: str) -> bytes:
        try:
            async with http.get(url) as reply:
                return await reply.read() if reply.status == 200 else b""
        except (aiohttp.ClientError, TimeoutError):
            return b""

    async def _post(self, http: aiohttp.ClientSession, path: str,
                    body: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        try:
            async with http.post(self.api + path, json=body, headers=HEADERS) as reply:
                data = await reply.json(content_type=None)
                return reply.status == 200, data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return False, {"error": "offline", "detail": str(exc)}
