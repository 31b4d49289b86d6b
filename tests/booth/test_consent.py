"""The consent question at the booth as a pure model: asked once per ticket, answered with
the hand button or a key, in both languages on the screen (its first line is read out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bilik.catalogue import text
from bilik.catalogue.consent import CURRENT_WORDING, WORDINGS
from booth.agent import BoothAgent
from booth.config import BoothConfig
from booth.consent import (
    Consent,
    ConsentAsker,
    ConsentState,
    answer,
    ask,
    overlay,
)
from booth.limits import CONSENT_ANSWER_SHOWN_S
from booth.state import Booth, BoothState
from booth.view import compose
from hardware.emulators.button import IDENT, ButtonEmulator
from signaling import protocol as p
from tests.booth.branch import Branch
from tests.helpers import until

SESSION = Booth(state=BoothState.IN_SESSION, ticket="A001", pairing="p-1", hub="hub-01",
                online=True)


def test_every_wording_version_is_in_the_catalogue_in_both_languages() -> None:
    assert CURRENT_WORDING in WORDINGS
    for key in WORDINGS.values():
        question = text(key)
        assert question.id and question.en and question.id != question.en


def test_asked_once_per_ticket_and_a_new_pairing_keeps_the_answer() -> None:
    asked = ask(Consent(), "A001", "p-1", "hub-01")
    assert asked.state is ConsentState.ASKING and asked.wording == CURRENT_WORDING
    answered = answer(asked, True, 100.0)
    assert (answered.state, answered.answered_at) == (ConsentState.ACCEPTED, 100.0)
    again = ask(answered, "A001", "p-2", "hub-02")  # failover to another hub
    assert again.state is ConsentState.ACCEPTED and (again.pairing, again.hub) == (
        "p-2", "hub-02")
    assert ask(again, "A002", "p-3", "hub-01").state is ConsentState.ASKING
    assert answer(answered, False, 200.0) == answered  # a later key is no answer
    with pytest.raises(ValueError, match="no consent wording"):
        ask(Consent(), "A001", "p-1", "hub-01", wording="1999.1")


def test_the_question_is_the_screens_first_line_until_answered() -> None:
    asking = ask(Consent(), "A001", "p-1", "hub-01")
    view = overlay(asking, compose(SESSION), now=10.0)
    assert view.lines == (text(WORDINGS[CURRENT_WORDING]), text("consent.keys"))
    assert view.banner == text("consent.banner") and not view.show_officer
    refused = answer(asking, False, 10.0)
    shown = overlay(refused, compose(SESSION), now=11.0)
    assert shown.lines[0] == text("consent.refused")
    later = overlay(refused, compose(SESSION), now=10.0 + CONSENT_ANSWER_SHOWN_S)
    assert later == compose(SESSION)


def test_the_hand_button_agrees_2_refuses_other_keys_do_nothing() -> None:
    sent: list[p.Message] = []
    asker = ConsentAsker(enabled=True, send=sent.append, clock=lambda: 50.0)
    assert not asker.press(32)  # nothing asked yet: the key is the hand's
    asker.in_session("A001", "p-1", "hub-01")
    assert not asker.press(ord("r"))  # "read again" is not an answer
    assert asker.press(32)
    assert len(sent) == 1
    msg = sent[0]
    assert isinstance(msg, p.Consent)
    assert (msg.peer, msg.pairing, msg.ticket, msg.wording, msg.accepted, msg.at) == (
        "hub-01", "p-1", "A001", CURRENT_WORDING, True, 50.0)
    assert not asker.press(ord("2"))  # answered already
    asker.in_session("A002", "p-2", "hub-01")
    assert asker.press(ord("2")) and sent[-1].accepted is False  # type: ignore[attr-defined]


def test_a_booth_not_set_to_ask_never_asks() -> None:
    sent: list[p.Message] = []
    asker = ConsentAsker(enabled=False, send=sent.append, clock=lambda: 0.0)
    asker.in_session("A001", "p-1", "hub-01")
    assert not asker.press(32) and sent == []
    assert asker.overlay(compose(SESSION)) == compose(SESSION)


def test_an_answer_given_offline_is_sent_at_the_next_pairing() -> None:
    sent: list[p.Message] = []
    online = [False]
    asker = ConsentAsker(enabled=True, send=sent.append, clock=lambda: 5.0,
                         online=lambda: online[0])
    asker.in_session("A001", "p-1", "hub-01")
    assert asker.press(ord("1")) and sent == [] and asker.unsent
    online[0] = True
    asker.in_session("A001", "p-1", "hub-01")  # the server sends the pairing again
    assert len(sent) == 1 and not asker.unsent
    asker.in_session("A001", "p-1", "hub-01")
    assert len(sent) == 1  # sent once


async def test_the_question_is_read_out_and_the_hand_button_answers_through_the_server(
        branch: Branch, tmp_path: Path) -> None:
    """The booth agent against the real server and a hub peer: the question read out in the
    Indonesian voice, the participant's press of the serial hand button (its emulator on a
    pty) is the answer, and it reaches the hub with the wording's version."""
    hub = branch.hub()
    emulator = ButtonEmulator()
    agent = BoothAgent(BoothConfig(
        server=branch.url, id="booth-01", flow="direct", consent=True,
        speaker=f"wav:{tmp_path / 'played.wav'}", hand_button=emulator.path,
        data_dir=tmp_path / "booth"), branch.token("booth-01", "booth"))
    try:
        await hub.open()
        await agent.start()
        await agent.wait_connected(60)
        question = text(WORDINGS[CURRENT_WORDING])
        await until(lambda: agent.narrator.spoken[-1:] == [question.id], "the question read out")
        assert agent.view().lines[0] == question
        await until(lambda: agent.hand_button is not None and agent.hand_button.ident == IDENT,
                    "the button's self-test")
        emulator.click()
        told = await hub.expect(p.Consent)
        assert (told.peer, told.accepted, told.wording, told.required) == (
            "booth-01", True, CURRENT_WORDING, False)
        assert told.ticket == f"pairing:{told.pairing}"
        assert agent.booth.hand_raised is False  # the press answered; it raised no hand
        await until(lambda: agent.narrator.spoken[-1:] == [text("consent.accepted").id],
                    "the answer read out")
    finally:
        await agent.stop()  # before its button goes away
        emulator.close()
        await hub.close()
