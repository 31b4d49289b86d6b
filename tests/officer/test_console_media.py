"""The console's media through the hub, with real peers: the officer's camera and voice
from the console reach the focused booth as the console encoded them, every booth's video
reaches the console undecoded, and the headset gets the focused booth's voice only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from officer.hub import Hub
from tests.helpers import until
from tests.officer.conftest import Branch
from tests.officer.consolepeer import ConsolePeer
from tests.officer.simbooth import SimBooth

pytestmark = pytest.mark.slow


def arrived(hub: Hub, booth: str) -> int:
    peer = hub.peer_of(booth)
    return 0 if peer is None else peer.meter.frames


@pytest.fixture
async def console(branch: Branch) -> AsyncIterator[tuple[Hub, ConsolePeer, SimBooth, SimBooth]]:
    await branch.add_officer()
    hub = await branch.hub(inspect_video=False)
    one = await branch.booth("booth-01")
    two = await branch.booth("booth-02")
    await until(lambda: arrived(hub, "booth-01") > 10 and arrived(hub, "booth-02") > 10,
                "video from both booths at the hub")
    peer = ConsolePeer(hub)
    try:
        await peer.sign_in()
        await peer.connect()
        await until(lambda: hub.console_media.connected, "the console's media connected")
        yield hub, peer, one, two
    finally:
        await peer.close()


def seat(hub: Hub, booth: str) -> int:
    peer = hub.peer_of(booth)
    assert peer is not None
    return peer.slot - 1


async def test_the_officer_from_the_console_reaches_the_focused_booth_undecoded(
    console: tuple[Hub, ConsolePeer, SimBooth, SimBooth],
) -> None:
    hub, _page, one, two = console
    await until(lambda: hub.streams.browser_video.live and hub.streams.browser_audio.live,
                "the console's camera and microphone at the hub")
    assert hub.health()["officer_media"]["source"] == "browser"
    await hub.focus("booth-01")
    # The console's test pattern carries its capture time: booth-01 reads it.
    await until(lambda: one.officer_frames > 10, "the console's camera at booth-01")
    await until(lambda: one.voice_frames > 20, "the console's microphone at booth-01")
    card = two.card_frames
    await until(lambda: two.card_frames > card + 3, "booth-02 still on the card")
    assert two.officer_frames == 0 and two.voice_frames == 0
    assert one.return_meter.reading(0).p50_ms is not None
    # Forwarded, not made: the synthetic officer encoded nothing, the hub decoded nothing.
    assert hub.streams.officer_video is not None and hub.streams.officer_video.stats.frames == 0
    assert hub.streams.browser_video.stats.keyframes >= 1
    for booth in ("booth-01", "booth-02"):
        peer = hub.peer_of(booth)
        assert peer is not None and peer.meter.unreadable == 0  # counted, never decoded

    await hub.focus("booth-02")
    await until(lambda: two.officer_frames > 10, "the console's camera at booth-02")
    officer = one.officer_frames
    card = one.card_frames
    await until(lambda: one.card_frames > card + 3, "booth-01 back on the card")
    assert one.officer_frames - officer <= 2  # at most what was in flight


async def test_the_console_gets_every_booth_and_hears_the_focused_one_only(
    console: tuple[Hub, ConsolePeer, SimBooth, SimBooth],
) -> None:
    hub, page, one, two = console
    s1, s2 = seat(hub, "booth-01"), seat(hub, "booth-02")
    # Every booth's own picture, at the console, decoded there: its timecodes read.
    await until(lambda: page.seat_readable[s1] > 15 and page.seat_readable[s2] > 15,
                "both booths' video at the console")
    assert all(page.seat_frames[n] == 0 for n in range(6) if n not in (s1, s2))
    one.tone.speaking = two.tone.speaking = True
    await hub.focus("booth-01")
    await until(lambda: page.heard_frames > 25, "booth-01's voice on the headset")
    p1, p2 = hub.peer_of("booth-01"), hub.peer_of("booth-02")
    assert p1 is not None and p2 is not None
    await until(lambda: p2.speaking, "booth-02's speaking mark, from its packets' levels")
    assert p2.heard_packets == 0 and p1.heard_packets > 25
    # The focused booth now sends its full picture; the console sees the size change
    # without a decode error (the switch waited for a keyframe).
    await until(lambda: (640, 480) in page.seat_sizes[s1], "booth-01 full size at the console")

    await hub.focus("booth-02")
    heard = p2.heard_packets
    await until(lambda: p2.heard_packets > heard + 25, "booth-02's voice on the headset")
    stopped = p1.heard_packets
    await until(lambda: p2.heard_packets > heard + 50, "more of booth-02")
    assert p1.heard_packets == stopped
    assert {k for k, _ in hub.switch_times_s} >= {"video", "audio", "console-audio"}

    await hub.focus(None)
    assert hub.console_media.voice is not None and hub.console_media.voice.source is None


async def test_a_camera_gone_mid_call_gives_the_booth_the_card_and_the_console_a_word(
    console: tuple[Hub, ConsolePeer, SimBooth, SimBooth],
) -> None:
    hub, page, one, _two = console
    await hub.focus("booth-01")
    await until(lambda: one.officer_frames > 10, "the console's camera at booth-01")
    page.stop_camera()
    card = one.card_frames
    await until(lambda: one.card_frames > card + 3, "the card at booth-01")
    assert hub.officer_media()["camera"] is False
    assert hub.officer_media()["source"] == "browser"  # not the synthetic officer
    await until(lambda: one.voice_frames > 10, "the microphone still at booth-01")


async def test_a_reload_reconnects_and_a_closed_page_falls_back(
    console: tuple[Hub, ConsolePeer, SimBooth, SimBooth], branch: Branch,
) -> None:
    hub, page, one, _two = console
    await hub.focus("booth-01")
    await until(lambda: one.officer_frames > 10, "the console's camera at booth-01")
    await page.connect()  # the page reloaded: a new offer replaces the connection
    await until(lambda: hub.console_media.connected and hub.console_media.connections == 2,
                "the console's media again")
    frames = one.officer_frames
    await until(lambda: one.officer_frames > frames + 10, "the camera at booth-01 again")
    assert hub.focused == "booth-01"
    await page.close_pc()  # the page closed: the hub goes on with its synthetic officer
    await until(lambda: hub.officer_media()["source"] == "synthetic", "synthetic officer")
    assert hub.streams.officer_video is not None
    made = hub.streams.officer_video.stats.frames
    await until(lambda: hub.streams.officer_video is not None
                and hub.streams.officer_video.stats.frames > made + 5,
                "the synthetic officer encoded for booth-01")


async def test_console_media_is_for_a_signed_in_officer_and_checks_the_offer(
    branch: Branch,
) -> None:
    await branch.add_officer()
    hub = await branch.hub()
    page = ConsolePeer(hub)
    try:
        status, body = await page.post("media", {"sdp": "v=0", "mids": {}})
        assert (status, body["error"]) == (403, "forbidden")
        await page.sign_in()
        for mids, detail in (
            ({}, "mids.camera"),
            ({"camera": "0", "audio": "0", "seats": ["2"]}, "distinct"),
            ({"camera": "0", "audio": "1", "seats": []}, "mids.seats"),
        ):
            status, body = await page.post("media", {"sdp": "v=0\r\n", "mids": mids})
            assert status == 400 and detail in body["detail"], body
        status, body = await page.post(
            "media", {"sdp": "not sdp", "mids": {"camera": "0", "audio": "1", "seats": ["2"]}})
        assert status == 400 and body["error"] == "bad_offer"
        assert not hub.console_media.connected
        status, body = await page.post("media/devices", {"camera": "exploded"})
        assert status == 400
        status, body = await page.post("media/devices", {"camera": "busy", "microphone": "ok"})
        assert status == 200 and hub.officer_media()["devices"]["camera"] == "busy"
    finally:
        await page.close()


async def test_an_unattended_console_signs_the_officer_out(branch: Branch) -> None:
    await branch.add_officer()
    hub = await branch.hub(console_idle_s=1.0)
    page = ConsolePeer(hub)
    try:
        await page.sign_in()
        assert hub.desk.officer is not None and hub.desk.idle_s() is not None
        status, _ = await page.post("activity", {})
        assert status == 200
        await until(lambda: hub.desk.officer is None, "the idle sign-out")
        assert hub.desk.signed_out_because == "idle"
        status, body = await page.post("activity", {})
        assert (status, body["error"]) == (403, "forbidden")
        status, body = await page.post("media", {"sdp": "v=0", "mids": {}})
        assert status == 403  # the officer's media goes with the sign-in
        await page.sign_in()
        assert hub.desk.signed_out_because == ""
    finally:
        await page.close()
