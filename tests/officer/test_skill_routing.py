"""Skills route tickets: a JP ticket goes only to an officer who serves JP, and while no
signed-in officer serves JP the queue says so in ``/api/queue`` (``unserved_services``)
instead of holding the ticket in silence. Real server, real hubs, queue booths, a kiosk."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from officer.hub import Hub
from signaling import protocol as p
from signaling.branchqueue import QUEUE_KEY
from signaling.client import SignalingClient
from signaling.officers import add_officer
from tests.officer.conftest import WAIT_S, Branch, until
from tests.officer.consolepeer import ConsolePeer


async def officer(branch: Branch, officer_id: str, pin: str, skills: tuple[str, ...]) -> None:
    db = branch.branch.db
    await db.call(add_officer, db.sync, officer_id, pin, "", time.time(), "test", skills)


async def sign_in(hub: Hub, officer_id: str, pin: str) -> None:
    console = ConsolePeer(hub)
    try:
        status, body = await console.post("sign-in", {"officer": officer_id, "pin": pin})
        assert status == 200, body
    finally:
        await console.close()


async def ticket(branch: Branch, service: str) -> p.TicketInfo:
    kiosk = SignalingClient(branch.url, branch.token("kiosk-01", "kiosk"), software="test")
    await kiosk.start()
    try:
        await kiosk.wait_connected(WAIT_S)
        info = await kiosk.request(p.TicketRequest(service=service))
    finally:
        await kiosk.close()
    assert isinstance(info, p.TicketInfo), info
    return info


async def queue_view(branch: Branch) -> dict[str, Any]:
    admin = branch.token("ops-1", "admin")
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{branch.server.port}/api/queue",
        headers={"Authorization": f"Bearer {admin}"},
    ) as reply:
        assert reply.status == 200, await reply.text()
        body: dict[str, Any] = await reply.json()
        return body


async def test_a_jp_ticket_goes_only_to_the_officer_with_jp(branch: Branch) -> None:
    await officer(branch, "ani", "1357", ("jht",))
    await officer(branch, "jaya", "2468", ("jp",))
    jht_hub = await branch.hub("hub-01")
    await sign_in(jht_hub, "ani", "1357")
    booth = await branch.booth("booth-01", receive=False, queue=True)

    # Only a JHT officer is signed in: the JP ticket waits, and the queue says why.
    jp = await ticket(branch, "jp")
    view = await queue_view(branch)
    assert [t["ticket"] for t in view["waiting"]] == [jp.ticket]
    unserved = view["unserved_services"]
    assert [(u["service"], u["count"]) for u in unserved] == [("jp", 1)]
    assert unserved[0]["oldest_wait_s"] >= 0.0
    assert booth.called == []

    # A JP officer signs in at another hub: the ticket is called, claimed and served there.
    jp_hub = await branch.hub("hub-02")
    await sign_in(jp_hub, "jaya", "2468")
    scheduler = branch.server.app[QUEUE_KEY].scheduler
    await until(lambda: scheduler.hubs["hub-02"].skills == ["jp"], "jaya's skills announced")
    await until(lambda: any(c.ticket == jp.ticket for c in booth.called), "the JP ticket called")
    await booth.claim(jp.qr)
    await until(lambda: jp_hub.peer_of("booth-01") is not None, "booth-01 at the JP officer")
    peer = jp_hub.peer_of("booth-01")
    assert peer is not None and peer.ticket == jp.ticket and peer.service == "jp"
    assert jht_hub.peer_of("booth-01") is None
    view = await queue_view(branch)
    assert view["unserved_services"] == []
    assert view["hubs"]["hub-01"]["skills"] == ["jht"]
    assert view["hubs"]["hub-02"]["skills"] == ["jp"]
    assert view["hubs"]["hub-02"]["officer"] == "jaya"

    # And a JHT ticket, at a second booth, goes to the JHT officer.
    other = await branch.booth("booth-02", receive=False, queue=True)
    jht = await ticket(branch, "jht")
    await until(lambda: any(c.ticket == jht.ticket for c in other.called), "the JHT ticket")
    await other.claim(jht.qr)
    await until(lambda: jht_hub.peer_of("booth-02") is not None, "booth-02 at the JHT officer")
    assert jp_hub.peer_of("booth-02") is None
    # Both calls up (none torn down half-connected when the test ends).
    await until(lambda: all((peer := hub.peer_of(booth)) is not None and peer.meter.frames > 5
                            for hub, booth in ((jp_hub, "booth-01"), (jht_hub, "booth-02"))),
                "both calls up")
