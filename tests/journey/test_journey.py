"""A participant's whole journey across real processes, end to end.

``bilik server``, two ``bilik hub``, ``bilik kiosk``, ``bilik display`` and a ``bilik booth``
(ticket flow) run as separate processes on loopback; their devices are emulators in this
process (printers and the QR reader on ptys, the document camera as a directory of images)
and the officer works in headless Chromium. What each step proves: docs/journey.md.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import cv2
import numpy as np
import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from bilik.catalogue import text
from bilik.documents import kind
from hardware.quality.gate import needed_px_per_mm
from officer.checklists import document_label
from tests.journey.branch import OFFICERS, STEP_S, Branch, wait_for
from tests.journey.officer import Officer, browser_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
KINDS = ["ktp", "kk", "membership", "termination", "bank_book"]  # the claim's documents


def qr_codes(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [code.data.decode("utf-8") for code in decode(image)]


async def until(check: Any, what: str, timeout: float = STEP_S) -> Any:
    return await asyncio.to_thread(wait_for, check, what, timeout)


# -- the steps, each a thing a person at the branch would notice ---------------------------------

async def ticket_printed(branch: Branch) -> dict[str, Any]:
    """1. The kiosk prints a ticket: its QR decodes to the server's code, its number is on it."""
    result = await asyncio.to_thread(branch.take_ticket)
    assert result["outcome"] == "printed" and result["number"].startswith("A"), result
    assert branch.kiosk_printer is not None
    (job,) = await asyncio.to_thread(branch.kiosk_printer.wait_for_jobs, 1, STEP_S)
    assert qr_codes(job.png) == [result["qr"]]
    assert result["number"] in job.text
    return result


async def called_on_tv(branch: Branch, number: str) -> dict[str, Any]:
    """2. The queue display's TV page is told to call the number to booth 1."""
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(f"http://127.0.0.1:{branch.tv_port}/ws") as ws:
        deadline = time.monotonic() + STEP_S
        while time.monotonic() < deadline:
            msg = await ws.receive(timeout=deadline - time.monotonic())
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            calls = json.loads(msg.data)["calls"]
            for call in calls:
                if call["ticket"] == number:
                    assert call["booth"] == "1", call
                    assert call["id"] == f"{number} ke Bilik 1", call
                    assert call["en"] == f"{number} to Booth 1", call
                    return dict(call)
    raise AssertionError(f"{number} was never called on the TV page")


async def paired(branch: Branch, ticket: dict[str, Any]) -> dict[str, Any]:
    """4. The server pairs the booth with a hub for this ticket."""
    pairing: dict[str, Any] = await until(
        lambda: branch.active_pairing(branch.BOOTH), "the booth paired with a hub")
    assert pairing["ticket"] == ticket["ticket"] and pairing["number"] == ticket["number"]
    assert pairing["hub"] in branch.HUBS
    await until(lambda: branch.video_frames(pairing["hub"], branch.BOOTH) >= 10,
                f"the booth's camera at {pairing['hub']} over WebRTC")
    return pairing


async def documents_captured(branch: Branch, ticket: str, hub: str) -> list[dict[str, Any]]:
    """5. A blurry card is refused at the booth with the reason; then every document is stored."""
    blurry = text("quality.blurry")
    refused = await until(
        lambda: [t for _, t in branch.screens("scanning") if blurry.id in t and blurry.en in t],
        "the booth screen saying the card is blurry, in both languages")
    assert text("booth.kind_ktp").id in refused[0] or "KTP" in refused[0]

    def stored() -> list[dict[str, Any]] | None:
        docs = branch.documents(ticket, hub)
        return docs if sorted(d["kind"] for d in docs) == sorted(KINDS) else None

    docs: list[dict[str, Any]] = await until(stored, "the claim's documents in the server's store")
    for doc in docs:
        assert doc["status"] == "uploaded" and doc["booth"] == branch.BOOTH
        data = await asyncio.to_thread(branch.download, doc["id"], hub)
        picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        # Each document straightened to its own kind's proportions, at the resolution its
        # smallest print needs or finer: the gate's capture, not a raw 1080p frame.
        k = kind(doc["kind"])
        assert picture is not None and picture.shape[:2] != (1080, 1920)
        assert picture.shape[1] / picture.shape[0] == pytest.approx(k.aspect, rel=0.01)
        assert picture.shape[1] / k.long_mm >= needed_px_per_mm(k) - 0.05
    return docs


async def officer_approves(branch: Branch, hub: str, officer_id: str,
                           documents: list[dict[str, Any]], shot: Path | None) -> str:
    """6. The officer signs in at the hub's console, opens the documents, ticks, approves."""
    async with browser_page() as page:
        officer = Officer(page, f"http://127.0.0.1:{branch.hub_ports[hub]}/console/")
        await officer.sign_in(officer_id, OFFICERS[officer_id])
        await officer.focus(branch.BOOTH)
        shown = await officer.documents(len(documents))
        assert sorted(kind for _, kind, _ in shown) == sorted(d["kind"] for d in documents)
        assert {doc for doc, _, _ in shown} == {d["id"] for d in documents}
        # The officer reads each document's name in both languages, not its code.
        assert all(name == document_label(kind) for _, kind, name in shown)
        for doc, _, _ in shown:
            assert await officer.open_document(doc) > 0
        if shot is not None:
            await officer.screenshot(shot)
        return await officer.approve("Dokumen lengkap dan terbaca")


async def receipt_printed(branch: Branch, reference: str) -> None:
    """7. The booth prints the receipt; its QR is the decision's reference."""
    assert branch.booth_printer is not None
    (job,) = await asyncio.to_thread(branch.booth_printer.wait_for_jobs, 1, STEP_S)
    assert qr_codes(job.png) == [reference]
    assert reference in job.text
    goodbye = await until(
        lambda: [t for _, t in branch.screens("goodbye") if reference in t],
        "the goodbye screen with the reference")
    assert "Disetujui" in goodbye[-1] and "Approved" in goodbye[-1]


def audit_holds_every_step(branch: Branch, ticket: dict[str, Any], hubs: list[str],
                           officer_id: str, reference: str) -> list[dict[str, Any]]:
    """8. The audit log holds each step, the decision with the officer's id."""
    entries = branch.audit()
    tid, booth = ticket["ticket"], branch.BOOTH

    def about(entry: dict[str, Any], *values: str) -> bool:
        blob = json.dumps(entry)
        return all(v in blob for v in values)

    def found(what: str, match: Any) -> dict[str, Any]:
        hits = [e for e in entries if match(e)]
        assert hits, f"no audit entry for {what}; actions seen: " + ", ".join(
            sorted({e["action"] for e in entries}))
        return hits[0]

    steps = [
        found("the ticket issued", lambda e: "issue" in e["action"] and about(e, tid)),
        found("the ticket called", lambda e: "call" in e["action"] and about(e, tid)),
        found("the ticket claimed", lambda e: "claim" in e["action"] and about(e, tid)),
    ]
    pairs = [found(f"the pairing with {hub}", lambda e, hub=hub: e["action"] == "pair"
                   and e["subject"] == booth and about(e, hub, tid)) for hub in hubs]
    uploads = [e for e in entries if e["action"] == "document_uploaded" and e["subject"] == tid]
    assert len(uploads) == len(KINDS), uploads
    decision = found("the decision", lambda e: e["action"] == "decision" and about(e, reference))
    assert decision["actor"] == officer_id and decision["subject"] == booth
    # In the order they happened: a later hub took the case over after the documents.
    steps += [pairs[0], uploads[0], uploads[-1], *pairs[1:], decision]
    seqs = [e["seq"] for e in steps]
    assert seqs == sorted(seqs), "the audit log has the steps out of order"
    return entries


# -- the journeys ---------------------------------------------------------------------------

async def test_a_participants_whole_journey(tmp_path: Path) -> None:
    with Branch(tmp_path) as branch:
        await asyncio.to_thread(branch.start)
        ticket = await ticket_printed(branch)
        await called_on_tv(branch, ticket["number"])
        assert branch.reader is not None
        branch.reader.scan(ticket["qr"])  # 3. the participant shows the ticket at the booth
        pairing = await paired(branch, ticket)
        hub = pairing["hub"]
        docs = await documents_captured(branch, ticket["ticket"], hub)
        reference = await officer_approves(branch, hub, "o-01", docs,
                                           DOCS_IMG / "console-journey.png")
        await receipt_printed(branch, reference)
        # For the README: the booth refusing the blurry card, and the goodbye with the receipt.
        blurry = text("quality.blurry").en
        refused = [png for png, shown in branch.screens("scanning") if blurry in shown]
        (DOCS_IMG / "booth-journey-blurry.png").write_bytes(refused[0].read_bytes())
        goodbye = branch.screens("goodbye")[-1][0]
        (DOCS_IMG / "booth-journey-goodbye.png").write_bytes(goodbye.read_bytes())
        audit_holds_every_step(branch, ticket, [hub], "o-01", reference)


async def test_the_journey_goes_on_when_the_hub_dies(tmp_path: Path) -> None:
    with Branch(tmp_path) as branch:
        await asyncio.to_thread(branch.start)
        ticket = await ticket_printed(branch)
        await called_on_tv(branch, ticket["number"])
        assert branch.reader is not None
        branch.reader.scan(ticket["qr"])
        first = await paired(branch, ticket)
        docs = await documents_captured(branch, ticket["ticket"], first["hub"])

        branch.kill(first["hub"])  # the officer's PC dies mid-case
        (other,) = [h for h in branch.HUBS if h != first["hub"]]
        second = await until(
            lambda: (p := branch.active_pairing(branch.BOOTH)) and p["hub"] == other and p,
            f"the booth re-paired with {other}")
        assert second["ticket"] == ticket["ticket"] and second["id"] != first["id"]
        await until(lambda: branch.video_frames(other, branch.BOOTH) >= 10,
                    f"the call with the participant going on at {other}")
        again = await until(lambda: branch.documents(ticket["ticket"], other),
                            f"the case's documents visible to {other}")
        assert {d["id"] for d in again} == {d["id"] for d in docs}

        reference = await officer_approves(branch, other, "o-02", docs, None)
        await receipt_printed(branch, reference)
        audit_holds_every_step(branch, ticket, [first["hub"], other], "o-02", reference)
