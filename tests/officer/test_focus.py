"""Focus with real peers: the officer's camera and voice reach only the focused booth,
the shared card and silence every other one, and only the focused booth is heard."""

from __future__ import annotations

import time

import pytest

from officer import limits
from officer.hub import Hub
from tests.helpers import until
from tests.officer.conftest import Branch
from tests.officer.simbooth import SimBooth

pytestmark = pytest.mark.slow


def decoded(hub: Hub, booth: str) -> int:
    peer = hub.peer_of(booth)
    return 0 if peer is None else peer.meter.frames


async def two_booths(branch: Branch) -> tuple[Hub, SimBooth, SimBooth]:
    hub = await branch.hub()
    one = await branch.booth("booth-01")
    two = await branch.booth("booth-02")
    await until(lambda: decoded(hub, "booth-01") > 10 and decoded(hub, "booth-02") > 10,
                "video from both booths at the hub")
    return hub, one, two


async def test_out_of_focus_booths_share_one_card_and_hear_silence(branch: Branch) -> None:
    hub, one, two = await two_booths(branch)
    await until(lambda: one.card_frames > 5 and two.card_frames > 5, "the card at both booths")
    quiet = hub.streams.quiet
    made, since = quiet.stats.frames, time.monotonic()
    await until(lambda: one.silent_frames > 5 and two.silent_frames > 5, "silence at both")
    # Silence is sparse, like Opus DTX: a frame every SILENCE_PERIOD_S, not every 20 ms.
    elapsed = time.monotonic() - since
    assert quiet.stats.frames - made <= elapsed / limits.SILENCE_PERIOD_S + 2
    assert one.officer_frames == 0 and two.officer_frames == 0
    assert one.voice_frames == 0 and two.voice_frames == 0
    card = hub.streams.card
    assert card.subscribers == 2
    # One encoder for both booths: every encoded card frame reached both of them.
    assert card.stats.frames < one.card_frames + two.card_frames
    assert hub.streams.officer_video.stats.frames == 0  # nobody in focus: nothing encoded


async def test_focus_sends_the_officer_to_one_booth_and_switches(branch: Branch) -> None:
    hub, one, two = await two_booths(branch)
    await hub.focus("booth-01")
    await until(lambda: one.officer_frames > 10, "the officer's camera at booth-01")
    await until(lambda: one.voice_frames > 20, "the officer's voice at booth-01")
    await until(lambda: one.attention == [True], "Attention(focused) at booth-01")
    two_card, two_voice = two.card_frames, two.voice_frames
    await until(lambda: two.card_frames > two_card + 3, "booth-02 still on the card")
    assert two.officer_frames == 0 and two.voice_frames == two_voice == 0
    reading = one.return_meter.reading(0)
    assert reading.unreadable == 0 and reading.p50_ms is not None

    await hub.focus("booth-02")
    await until(lambda: two.officer_frames > 10, "the officer's camera at booth-02")
    await until(lambda: two.attention == [True] and one.attention == [True, False],
                "Attention moved")
    one_officer = one.officer_frames
    one_card = one.card_frames
    await until(lambda: one.card_frames > one_card + 3, "booth-01 back on the card")
    assert one.officer_frames - one_officer <= 2  # at most what was in flight
    kinds = {kind for kind, _ in hub.switch_times_s}
    assert kinds == {"video", "audio"}
    # What each booth sent is counted against the focus it came in: booth-01 has been
    # both, and booth-02 was waiting until it got the focus.
    peer_one, peer_two = hub.peer_of("booth-01"), hub.peer_of("booth-02")
    assert peer_one is not None and peer_two is not None
    await until(lambda: peer_one.rx_focused.bytes > 0 and peer_one.rx_waiting.bytes > 0
                and peer_two.rx_waiting.bytes > 0 and peer_two.rx_focused.bytes > 0,
                "received bytes counted by focus")
    assert peer_one.rx_focused.seconds > 0 and peer_two.rx_waiting.seconds > 0
    assert hub.health()["focused"] == "booth-02"


async def test_speaking_marks_come_from_packet_levels_and_no_audio_is_decoded(
    branch: Branch,
) -> None:
    hub, one, two = await two_booths(branch)
    await hub.focus("booth-01")
    one.tone.speaking = True
    two.tone.speaking = True
    peer_one, peer_two = hub.peer_of("booth-01"), hub.peer_of("booth-02")
    assert peer_one is not None and peer_two is not None
    await until(lambda: peer_two.speaking and peer_one.speaking, "both speaking marks")
    # Both booths' packets carry a level: nothing is decoded, in focus or not (the
    # headset, when a console is connected, gets the focused booth's packets as they came:
    # tests/officer/test_console_media.py).
    levels = peer_two.audio_levels
    await until(lambda: peer_two.audio_levels > levels + 50, "booth-02's audio levels")
    assert peer_one.audio_frames == peer_two.audio_frames == 0
    assert peer_one.heard_packets == peer_two.heard_packets == 0  # no console: no headset
    two.tone.speaking = False
    await until(lambda: not peer_two.speaking, "speaking mark off after the hangover")


async def test_a_booth_sending_no_audio_level_is_decoded_for_its_speaking_mark(
    branch: Branch,
) -> None:
    hub = await branch.hub()
    booth = await branch.booth("booth-01", audio_levels=False)
    await until(lambda: decoded(hub, "booth-01") > 10, "video from booth-01")
    peer = hub.peer_of("booth-01")
    assert peer is not None and not peer.focused
    booth.tone.speaking = True
    await until(lambda: peer.speaking, "speaking mark from decoded audio")
    assert peer.audio_levels == 0 and peer.audio_frames > 3
    booth.tone.speaking = False
    await until(lambda: not peer.speaking, "speaking mark off after the hangover")


async def test_hand_and_documents_reach_the_booth_state(branch: Branch) -> None:
    hub, one, _two = await two_booths(branch)
    await one.raise_hand(True, "help")
    await one.document("doc-1", "id_card")
    peer = hub.peer_of("booth-01")
    assert peer is not None
    await until(lambda: peer.hand["raised"] is True and "doc-1" in peer.documents,
                "hand and document at the hub")
    assert peer.hand["reason"] == "help"
    assert peer.documents["doc-1"]["status"] == "uploaded"
