"""A ticket claimed by showing its QR to the document camera on the welcome screen.

A real branch server with the queue, a kiosk client that takes a real ticket, a hub peer,
and the booth agent in the ticket flow whose document camera (a synthetic source looking
at the desk) is shown a QR drawn with the qrcode library from the ticket's own payload. A
forged code gets the same refusal as from the serial reader; the real ticket is claimed;
the camera is let go once the welcome screen is gone; the face camera stayed off meanwhile.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.state import BoothState
from booth.ticket_camera import CodeSightings
from booth.view import ScreenName
from hardware.camera import SyntheticSource
from signaling import protocol as p
from tests.booth.branch import Branch, Kiosk
from tests.helpers import until

FORGED = "BILIK1:T:kc-01:forged"


def test_a_code_held_in_view_is_claimed_once_and_again_after_it_left() -> None:
    sightings = CodeSightings(gone_after_s=2.0)
    assert sightings.seen({"A"}, 0.0) == ["A"]
    assert sightings.seen({"A"}, 0.5) == []  # still held up: not claimed again
    assert sightings.seen({"A", "B"}, 1.0) == ["B"]
    assert sightings.seen(set(), 2.0) == []
    assert sightings.seen({"A"}, 2.6) == []  # out of view for 1.6 s only
    assert sightings.seen({"A"}, 5.0) == ["A"]  # shown again after 2.4 s away


def desk() -> np.ndarray:
    """The document camera's view of an empty desk: warm grey with sensor noise."""
    rng = np.random.default_rng(7)
    image = np.empty((720, 1280, 3), np.uint8)
    image[:] = (120, 140, 150)
    noise = rng.normal(0, 6, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def showing(payload: str) -> np.ndarray:
    """The desk with a printed ticket's QR held over it, slightly turned."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    qr.add_data(payload)
    picture = np.array(qr.make_image().convert("L"), np.uint8)
    h, w = picture.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 8.0, 1.0)
    turned = cv2.warpAffine(picture, turn, (w, h), borderValue=255)
    image = desk()
    top, left = (720 - h) // 2, (1280 - w) // 2
    image[top:top + h, left:left + w] = cv2.cvtColor(turned, cv2.COLOR_GRAY2BGR)
    return image


def shown(agent: BoothAgent) -> str:
    snap = agent.screen.last
    return " ".join(snap.drawn) if snap is not None else ""


@pytest.mark.slow
async def test_a_ticket_shown_to_the_document_camera_is_claimed(
    branch: Branch, tmp_path: Path,
) -> None:
    scene = {"frame": desk()}
    kiosk = Kiosk(branch.url, branch.token("kiosk-01", "kiosk"))
    hub = branch.hub()
    config = BoothConfig(server=branch.url, id="booth-01", flow="ticket",
                         data_dir=tmp_path / "booth")
    agent = BoothAgent(
        config, branch.token("booth-01", "booth"),
        document_camera=lambda: SyntheticSource(lambda _t: scene["frame"], 10.0,
                                                name="document-camera"),
    )
    try:
        await kiosk.client.start()
        await agent.start()
        await agent.wait_connected(60)
        await hub.open(slots=0)
        await kiosk.client.send(p.TicketRequest(service="jht"))
        await until(lambda: kiosk.tickets, "a ticket from the kiosk")
        ticket = kiosk.tickets[0]
        await until(lambda: ticket.ticket in agent.inbound.called, "the ticket called to booth-01")
        camera = agent.ticket_camera
        assert camera is not None
        await until(lambda: camera.frames_decoded > 2, "the document camera watching the desk")
        assert agent.face.tee is None  # privacy: the face camera stays off meanwhile

        # A forged code: the same refusal as from the reader, and nothing changes.
        scene["frame"] = showing(FORGED)
        await until(lambda: agent.booth.notice != "", "the refusal")
        why = agent.view().lines[0]
        assert why.key in ("queue.qr_invalid", "queue.ticket_unknown", "booth.claim_refused")
        await until(lambda: why.id in shown(agent) and why.en in shown(agent),
                    "the refusal on the welcome screen in both languages")
        assert agent.booth.state is BoothState.IDLE and agent.booth.ticket == ""

        # The real ticket: claimed; the booth waits for the officer.
        scene["frame"] = showing(ticket.qr)
        await until(lambda: agent.booth.state is BoothState.WAITING, "the ticket claimed")
        assert agent.booth.ticket == ticket.ticket
        await until(lambda: (snap := agent.screen.last) is not None
                    and snap.view.screen is ScreenName.WAITING, "the waiting screen")
        # The welcome screen is gone: the document camera is let go, the face camera is on.
        await until(lambda: camera.camera is None, "the document camera closed")
        assert agent.face.tee is not None
    finally:
        await agent.stop()
        await hub.close()
        await kiosk.client.close()
