"""The booth's flow as a pure state machine: every path a participant can take."""

from __future__ import annotations

from pathlib import Path

import pytest

from booth import statefile
from booth.state import (
    Attention,
    Booth,
    BoothState,
    Claimed,
    ClaimRefused,
    Connected,
    DeviceFailed,
    DeviceRecovered,
    Disconnected,
    DocCaptured,
    DocsRequested,
    DocStatus,
    DocUpdated,
    Effect,
    Event,
    GoodbyeOver,
    HandToggled,
    Paired,
    PresenceChanged,
    ReceiptDone,
    Released,
    VerdictGiven,
    Waiting,
    transition,
)


def run(booth: Booth, *events: Event) -> tuple[Booth, list[Effect]]:
    effects: list[Effect] = []
    for event in events:
        booth, out = transition(booth, event)
        effects += out
    return booth, effects


ONLINE = Booth(online=True)


def in_session() -> Booth:
    booth, _ = run(ONLINE, Claimed(1.0, "T-1", "A-001"), Waiting(2.0, "T-1", 300.0, 2),
                   Paired(3.0, "p-1", "hub-01", "T-1", "A-001"))
    return booth


def test_a_whole_visit_from_ticket_to_receipt_and_back_to_idle() -> None:
    booth, effects = run(ONLINE, Claimed(1.0, "T-1", "A-001"))
    assert booth.state is BoothState.CLAIMED and booth.number == "A-001"
    assert Effect.CAMERA_ON in effects  # camera only once somebody sits down
    booth, _ = run(booth, Waiting(2.0, "T-1", 420.0, 3))
    assert (booth.state, booth.expected_wait_s, booth.position) == (BoothState.WAITING, 420.0, 3)
    booth, _ = run(booth, Paired(3.0, "p-1", "hub-01"))
    assert booth.state is BoothState.IN_SESSION and booth.hub == "hub-01"
    booth, effects = run(booth, DocsRequested(4.0, ("ktp", "kk")))
    assert booth.state is BoothState.SCANNING and booth.scanning_kind == "ktp"
    assert Effect.START_SCAN in effects
    booth, _ = run(booth, DocCaptured(5.0, "ktp"))
    assert booth.scanning_kind == "kk"
    booth, effects = run(booth, DocCaptured(6.0, "kk"))
    assert booth.state is BoothState.IN_SESSION and Effect.STOP_SCAN in effects
    booth, _ = run(booth, DocUpdated(7.0, "ktp", "d1", "uploaded"),
                   DocUpdated(7.5, "ktp", "d1", "accepted"))
    assert booth.document("ktp").status is DocStatus.ACCEPTED  # type: ignore[union-attr]
    booth, effects = run(booth, VerdictGiven(8.0, "T-1", "REF-9", "approved", "transfer"))
    assert booth.state is BoothState.VERDICT and Effect.PRINT_RECEIPT in effects
    booth, effects = run(booth, ReceiptDone(9.0, printed=True))
    assert booth.state is BoothState.RECEIPT and Effect.START_GOODBYE in effects
    booth, effects = run(booth, GoodbyeOver(30.0))
    assert booth == Booth(state=BoothState.IDLE, online=True, since=30.0)
    assert {Effect.CAMERA_OFF, Effect.CLEAR_LOCAL_DOCS, Effect.BOOTH_READY} <= set(effects)


def test_a_refused_claim_shows_why_and_changes_nothing_else() -> None:
    booth, effects = run(ONLINE, ClaimRefused(1.0, "queue.not_called"))
    assert booth.state is BoothState.IDLE and booth.notice == "queue.not_called"
    assert effects == []
    booth, _ = run(booth, Claimed(2.0, "T-2", "A-002"))
    assert booth.notice == ""  # the old message goes with the next change


def test_a_claim_during_a_session_is_ignored() -> None:
    booth = in_session()
    assert transition(booth, Claimed(9.0, "T-9", "B-009")) == (booth, ())


def test_a_rescan_from_the_officer_goes_back_to_scanning_with_the_reason() -> None:
    booth, _ = run(in_session(), DocsRequested(4.0, ("ktp",)), DocCaptured(5.0, "ktp"),
                   DocUpdated(6.0, "ktp", "d1", "uploaded"))
    assert booth.state is BoothState.IN_SESSION
    booth, effects = run(booth, DocUpdated(7.0, "ktp", "d1", "rescan", "NIK unreadable"))
    assert booth.state is BoothState.SCANNING and Effect.START_SCAN in effects
    assert booth.document("ktp") is not None
    assert booth.document("ktp").reason == "NIK unreadable"  # type: ignore[union-attr]


def test_losing_the_officer_waits_again_and_keeps_the_documents() -> None:
    booth, _ = run(in_session(), DocsRequested(4.0, ("ktp",)), DocCaptured(5.0, "ktp"))
    booth, effects = run(booth, Released(6.0, "p-1"))
    assert booth.state is BoothState.WAITING and booth.hub == ""
    assert booth.documents and Effect.DROP_CALL in effects
    assert Effect.ASK_SERVICE_AGAIN not in effects  # the ticket flow: the queue finds one
    assert booth.ticket == "T-1"


def test_a_repeated_pair_after_reconnect_keeps_the_session() -> None:
    booth, _ = run(in_session(), DocsRequested(4.0, ("ktp",)))
    again, effects = run(booth, Paired(5.0, "p-1", "hub-01"))
    assert again == booth and effects == []


def test_the_officer_serving_another_booth_and_the_raised_hand() -> None:
    booth, _ = run(in_session(), Attention(4.0, focused=True))
    assert booth.focused
    booth, _ = run(booth, Attention(5.0, focused=False))
    booth, effects = run(booth, HandToggled(6.0))
    assert booth.hand_raised and effects == [Effect.SEND_HAND]
    booth, _ = run(booth, Attention(7.0, focused=True))
    assert not booth.hand_raised  # the officer came: the hand is down


def test_a_participant_who_steps_away_is_reported_once() -> None:
    booth, effects = run(in_session(), PresenceChanged(4.0, present=False))
    assert not booth.present and Effect.REPORT_AWAY in effects
    booth, effects = run(booth, PresenceChanged(5.0, present=False))
    assert effects == []
    booth, effects = run(booth, PresenceChanged(6.0, present=True))
    assert booth.present and Effect.REPORT_AWAY not in effects


def test_the_paired_hub_hears_when_the_seat_empties_and_fills_again() -> None:
    booth, effects = run(in_session(), PresenceChanged(4.0, present=False))
    assert Effect.SEND_SEAT in effects and not booth.present
    booth, effects = run(booth, PresenceChanged(5.0, present=True))
    assert Effect.SEND_SEAT in effects and booth.present


def test_no_seat_news_without_a_hub_and_a_new_hub_hears_of_an_empty_seat() -> None:
    waiting, _ = run(ONLINE, Claimed(1.0, "T-1", "A-001"), Waiting(2.0, "T-1", 300.0, 2))
    away, effects = run(waiting, PresenceChanged(3.0, present=False))
    assert Effect.SEND_SEAT not in effects  # nobody to tell yet (the server hears it)
    paired, effects = run(away, Paired(4.0, "p-1", "hub-01", "T-1", "A-001"))
    assert Effect.SEND_SEAT in effects and not paired.present
    _, effects = run(in_session(), Paired(5.0, "p-2", "hub-02", "T-1", "A-001"))
    assert Effect.SEND_SEAT not in effects  # seated: a new hub assumes an occupied seat


def test_an_empty_booth_is_not_reported_as_a_participant_away() -> None:
    _, effects = run(ONLINE, PresenceChanged(1.0, present=False))
    assert Effect.REPORT_AWAY not in effects


def test_a_failed_device_takes_an_idle_booth_out_of_service_until_it_recovers() -> None:
    booth, effects = run(ONLINE, DeviceFailed(1.0, "printer"))
    assert booth.state is BoothState.OUT_OF_SERVICE and Effect.REPORT in effects
    booth, effects = run(booth, DeviceRecovered(2.0, "printer"))
    assert booth.state is BoothState.IDLE and Effect.BOOTH_READY in effects


def test_a_device_failing_mid_session_lets_the_participant_finish_first() -> None:
    booth, _ = run(in_session(), DeviceFailed(4.0, "printer"))
    assert booth.state is BoothState.IN_SESSION and booth.faults == ("printer",)
    booth, _ = run(booth, VerdictGiven(5.0, "T-1", "R", "approved"),
                   ReceiptDone(6.0, printed=False))
    assert booth.receipt_printed is False
    booth, effects = run(booth, GoodbyeOver(7.0))
    assert booth.state is BoothState.OUT_OF_SERVICE and Effect.BOOTH_READY not in effects


def test_a_verdict_for_another_ticket_is_ignored() -> None:
    booth = in_session()
    assert transition(booth, VerdictGiven(5.0, "T-other", "R", "approved")) == (booth, ())


def test_connection_is_a_condition_not_a_state() -> None:
    booth, _ = run(in_session(), DocsRequested(4.0, ("ktp",)))
    lost, effects = run(booth, Disconnected(5.0))
    assert lost.state is BoothState.SCANNING and not lost.online and effects == []
    back, effects = run(lost, Connected(6.0))
    assert back == booth and effects == [Effect.REPORT]


def test_state_file_round_trip_is_atomic_and_survives_damage(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    booth, _ = run(in_session(), DocsRequested(4.0, ("ktp",)),
                   VerdictGiven(5.0, "T-1", "REF", "approved", "wait"))
    statefile.save(path, booth)
    assert statefile.load(path) == booth
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary left
    path.write_text('{"state": "nonsense"}')
    assert statefile.load(path) is None
    path.write_bytes(b"\xff\x00 not json")
    assert statefile.load(path) is None
    assert statefile.load(tmp_path / "missing.json") is None


@pytest.mark.parametrize(
    "data",
    [[], {"bogus": 1}, {"state": "idle", "documents": [{"kind": "ktp"}]},
     {"state": "idle", "verdict": {"nope": 1}}],
)
def test_malformed_state_is_a_clear_value_error(data: object) -> None:
    with pytest.raises(ValueError, match="booth state"):
        Booth.from_json(data)  # type: ignore[arg-type]


def test_the_server_telling_first_is_believed() -> None:
    booth, effects = run(ONLINE, Waiting(1.0, "T-5", 120.0, 1, "A-005"))
    assert (booth.state, booth.ticket, booth.number) == (BoothState.WAITING, "T-5", "A-005")
    assert Effect.CAMERA_ON in effects
    booth, _ = run(booth, Claimed(1.5))  # the claim's answer comes after: nothing changes
    assert booth.state is BoothState.WAITING
    booth, effects = run(ONLINE, Paired(2.0, "p-9", "hub-02", "T-9", "B-009"))
    assert (booth.state, booth.hub, booth.number) == (BoothState.IN_SESSION, "hub-02", "B-009")
    assert Effect.CAMERA_ON in effects
    nothing, effects = run(ONLINE, Waiting(3.0, "", 60.0))
    assert nothing == ONLINE and effects == []
