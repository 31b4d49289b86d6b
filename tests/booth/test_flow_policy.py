"""The booth's flow policy, in the pure state machine: what an empty booth does in the ticket
flow (tell the queue it is ready, take codes) and in the direct flow (ask for any officer, at
once and again whenever it is left without one)."""

from __future__ import annotations

from booth.state import (
    Booth,
    BoothState,
    CallFailed,
    Connected,
    DeviceFailed,
    DeviceRecovered,
    Disconnected,
    Effect,
    Flow,
    GoodbyeOver,
    Paired,
    ReceiptDone,
    Released,
    VerdictGiven,
    accepts_code,
    joins_call,
    transition,
    waits_for_code,
)

ONLINE = Booth(online=True)


def test_an_empty_ticket_booth_tells_the_queue_it_is_ready_when_it_connects() -> None:
    booth, effects = transition(Booth(), Connected(1.0), Flow.TICKET)
    assert booth.state is BoothState.IDLE and booth.online
    assert effects == (Effect.REPORT, Effect.BOOTH_READY)
    assert waits_for_code(booth) and accepts_code(booth, Flow.TICKET)


def test_a_ticket_booth_out_of_service_or_in_a_session_does_not_say_ready() -> None:
    broken, _ = transition(Booth(), DeviceFailed(0.5, "camera"), Flow.TICKET)
    _, effects = transition(broken, Connected(1.0), Flow.TICKET)
    assert effects == (Effect.REPORT,)
    seated = Booth(state=BoothState.WAITING, ticket="T-1")
    _, effects = transition(seated, Connected(1.0), Flow.TICKET)
    assert effects == (Effect.REPORT,)
    assert not accepts_code(seated, Flow.TICKET)


def test_a_direct_booth_asks_for_any_officer_as_soon_as_it_is_online() -> None:
    booth, effects = transition(Booth(), Connected(1.0), Flow.DIRECT)
    assert booth.state is BoothState.WAITING and booth.online
    assert effects == (Effect.REPORT, Effect.CAMERA_ON, Effect.REPORT, Effect.ASK_SERVICE)
    assert not accepts_code(ONLINE, Flow.DIRECT)  # a direct booth takes no tickets


def test_a_direct_booth_asks_again_after_a_reconnect_in_the_middle_of_a_call() -> None:
    booth = Booth(state=BoothState.IN_SESSION, pairing="p-1", hub="hub-01")
    booth, _ = transition(booth, Disconnected(1.0), Flow.DIRECT)
    booth, effects = transition(booth, Connected(2.0), Flow.DIRECT)
    assert booth.state is BoothState.IN_SESSION  # the server keeps the pairing
    assert effects == (Effect.REPORT, Effect.ASK_SERVICE)


def test_a_pair_sets_up_the_call_in_a_session_or_always_in_the_direct_flow() -> None:
    booth, _ = transition(ONLINE, Paired(1.0, "p-1", "hub-01"), Flow.TICKET)
    assert joins_call(booth, Flow.TICKET)
    assert not joins_call(Booth(state=BoothState.VERDICT), Flow.TICKET)
    assert joins_call(Booth(state=BoothState.VERDICT), Flow.DIRECT)


def test_losing_the_officer_drops_the_call_and_a_direct_booth_asks_again() -> None:
    booth = Booth(state=BoothState.IN_SESSION, pairing="p-1", hub="hub-01", online=True)
    for flow, again in ((Flow.TICKET, ()), (Flow.DIRECT, (Effect.ASK_SERVICE_AGAIN,))):
        after, effects = transition(booth, Released(2.0, "p-1"), flow)
        assert after.state is BoothState.WAITING
        assert effects == (Effect.STOP_SCAN, Effect.DROP_CALL, *again, Effect.REPORT)


def test_a_failed_call_is_asked_for_again_only_in_the_direct_flow() -> None:
    booth = Booth(state=BoothState.IN_SESSION, pairing="p-1", hub="hub-01", online=True)
    assert transition(booth, CallFailed(2.0), Flow.TICKET) == (booth, ())
    assert transition(booth, CallFailed(2.0), Flow.DIRECT) == (
        booth, (Effect.ASK_SERVICE_AGAIN,))


def test_after_the_goodbye_the_booth_is_ready_again_in_its_flow() -> None:
    seated = Booth(state=BoothState.IN_SESSION, ticket="T-1", pairing="p-1", hub="hub-01",
                   online=True)
    booth, _ = transition(seated, VerdictGiven(1.0, "T-1", "R-1", "approved"))
    booth, _ = transition(booth, ReceiptDone(2.0, True))
    for flow, ready in ((Flow.TICKET, Effect.BOOTH_READY),
                        (Flow.DIRECT, Effect.ASK_SERVICE_AGAIN)):
        after, effects = transition(booth, GoodbyeOver(3.0), flow)
        assert after.state is BoothState.IDLE and effects[-1] is ready
    offline = Booth(state=BoothState.RECEIPT)
    _, effects = transition(offline, GoodbyeOver(3.0), Flow.DIRECT)
    assert Effect.ASK_SERVICE_AGAIN not in effects  # asked when it is online again


def test_a_repaired_device_puts_the_booth_back_in_its_flow() -> None:
    broken, _ = transition(ONLINE, DeviceFailed(1.0, "printer"), Flow.DIRECT)
    booth, effects = transition(broken, DeviceRecovered(2.0, "printer"), Flow.DIRECT)
    assert booth.state is BoothState.IDLE
    assert effects == (Effect.REPORT, Effect.ASK_SERVICE_AGAIN)
