"""What the server's messages mean for the booth's flow (booth.state.Inbound, pure)."""

from __future__ import annotations

from booth.state import (
    Attention,
    Booth,
    BoothState,
    CheckedIn,
    Claimed,
    ClaimRefused,
    DocStatus,
    Document,
    DocUpdated,
    Inbound,
    Outcome,
    Paired,
    Released,
    Waiting,
    readable,
)
from signaling import protocol as p

SESSION = Booth(state=BoothState.IN_SESSION, ticket="T-1", pairing="p-1", hub="hub-01",
                documents=(Document("ktp", DocStatus.UPLOADED, "doc-7"),))


def test_the_answer_to_a_claim_is_claimed_checked_in_or_refused_with_its_text() -> None:
    inbound = Inbound()
    ticket = inbound.claim("T-1|sig")
    assert isinstance(ticket, p.Claim) and inbound.is_flow_message(p.Ok(ref=ticket.id))
    assert inbound.event(p.Ok(ref=ticket.id), Booth(), 1.0) == Claimed(1.0)
    assert not inbound.claims  # answered: forgotten
    booking = inbound.claim(" BK-1001 ")
    assert isinstance(booking, p.CheckIn) and booking.code == "BK-1001"
    info = p.TicketInfo(ref=booking.id, ticket="t-9", number="R001", service="jht", qr="q")
    assert inbound.event(info, Booth(), 2.0) == CheckedIn(2.0, "R001")
    refused = inbound.claim("BK-1002")
    error = p.Error(ref=refused.id, code="unknown_appointment", detail="no such booking")
    assert inbound.event(error, Booth(), 3.0) == ClaimRefused(3.0, "queue.booking_unknown")
    other = inbound.claim("T-2|sig")
    error = p.Error(ref=other.id, code="gone", detail="?")
    assert inbound.event(error, Booth(), 4.0) == ClaimRefused(4.0, "booth.claim_refused")


def test_an_error_that_answers_no_claim_is_the_call_s() -> None:
    assert not Inbound().is_flow_message(p.Error(ref="x", code="not_paired", detail="?"))
    assert not Inbound().is_flow_message(p.Answer(peer="hub-01", pairing="p-1", sdp="v=0"))


def test_waiting_carries_the_number_the_queue_called() -> None:
    inbound = Inbound()
    called = p.Called(ticket="T-1", number="A001", booth="booth-01", label="Bilik 1")
    assert inbound.event(called, Booth(), 1.0) is None
    waiting = p.Waiting(ticket="T-1", expected_wait_s=120.0, position=2)
    assert inbound.event(waiting, Booth(), 2.0) == Waiting(2.0, "T-1", 120.0, 2, "A001")
    focus = p.Attention(peer="hub-01", pairing="p-1", focused=True)
    assert inbound.event(focus, SESSION, 3.0) == Attention(3.0, True)


def test_a_document_named_by_its_id_is_updated_by_its_kind() -> None:
    update = p.DocUpdate(peer="hub-01", pairing="p-1", kind="", document="doc-7",
                         status="accepted")
    assert Inbound().event(update, SESSION, 1.0) == DocUpdated(1.0, "ktp", "doc-7", "accepted")


def test_a_pairing_for_another_booth_means_nothing() -> None:
    inbound = Inbound(device_id="booth-01")
    pair = p.Pair(pairing="p-1", booth="booth-02", hub="hub-01")
    assert inbound.event(pair, Booth(), 1.0) is None
    mine = p.Pair(pairing="p-2", booth="booth-01", hub="hub-01", ticket="T-1", number="A001")
    assert inbound.event(mine, Booth(), 1.0) == Paired(1.0, "p-2", "hub-01", "T-1", "A001")


def test_a_release_after_the_verdict_ends_nothing_else_one_before_it_does() -> None:
    done = p.Release(pairing="p-1", reason=p.ReleaseReason.DONE.value)
    decided = Booth(state=BoothState.VERDICT, verdict=Outcome("R-1", "approved"))
    assert Inbound().event(done, decided, 1.0) is None
    assert Inbound().event(done, SESSION, 1.0) == Released(1.0, "p-1")
    lost = p.Release(pairing="p-1", reason=p.ReleaseReason.PEER_OFFLINE.value)
    assert Inbound().event(lost, decided, 1.0) == Released(1.0, "p-1")


def test_the_same_code_read_twice_at_once_is_claimed_once() -> None:
    inbound = Inbound()
    assert inbound.fresh("T-1|sig", 10.0)
    assert not inbound.fresh("T-1|sig", 10.5)
    assert inbound.fresh("T-2|sig", 10.6)
    assert not readable("") and not readable("a\x00b") and readable("T-1|sig")
