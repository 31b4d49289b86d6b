"""The participant's consent to the recording, asked at the booth before the officer joins.

When the booth is paired for a ticket (in session), and the booth is set to ask
(``consent``), the screen shows the question (:mod:`bilik.catalogue.consent`, the current
wording's version) in Bahasa Indonesia with English beside it, and the narrator reads it
out like every instruction (its first line), where the booth's speech path allows. The
participant answers with a key or the hand button:

* agree: the hand button, Space, Enter or ``1``;
* refuse: ``2`` (or ``N``).

The answer goes to the server (:class:`~signaling.protocol.Consent`: ticket, wording
version, accepted, time), which keeps it with the case and tells the hub; the hub records
only after an accepted consent. A refusal is handled as the branch is set (the server's
``recording`` setting): the officer is told and decides, or the session goes on without
recording. The booth says the same to the participant in both cases: the officer will
explain what happens next.

:func:`ask` and :func:`answer` are the pure core (time passed in); :class:`ConsentAsker`
is the agent's shell: it keeps the state, sends the answer and lays the question over the
screen's view while it waits.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bilik.catalogue import text
from bilik.catalogue.consent import CURRENT_WORDING, WORDINGS
from booth import limits
from booth.view import View
from signaling import protocol as p

log = logging.getLogger(__name__)

ACCEPT_KEYS = frozenset({32, 13, ord("1"), ord("y"), ord("Y")})  # the hand button is Space
REFUSE_KEYS = frozenset({ord("2"), ord("n"), ord("N")})


class ConsentState(enum.StrEnum):
    NOT_ASKED = "not_asked"
    ASKING = "asking"  # the question is on the screen
    ACCEPTED = "accepted"
    REFUSED = "refused"


@dataclass(frozen=True)
class Consent:
    state: ConsentState = ConsentState.NOT_ASKED
    ticket: str = ""
    pairing: str = ""
    hub: str = ""
    wording: str = CURRENT_WORDING
    answered_at: float = 0.0

    @property
    def answered(self) -> bool:
        return self.state in (ConsentState.ACCEPTED, ConsentState.REFUSED)


def ask(consent: Consent, ticket: str, pairing: str, hub: str,
        wording: str = CURRENT_WORDING) -> Consent:
    """The booth is in session for ``ticket``: ask, unless this ticket was answered already
    (a pairing sent again after a reconnect, or renamed, keeps the answer)."""
    if wording not in WORDINGS:
        raise ValueError(f"no consent wording {wording!r}; known: {', '.join(WORDINGS)}")
    if consent.ticket == ticket and consent.state is not ConsentState.NOT_ASKED:
        return dataclasses.replace(consent, pairing=pairing, hub=hub)
    return Consent(ConsentState.ASKING, ticket, pairing, hub, wording)


def answer(consent: Consent, accepted: bool, at: float) -> Consent:
    """The participant's answer; only while asking (a key pressed later is not an answer)."""
    if consent.state is not ConsentState.ASKING:
        return consent
    state = ConsentState.ACCEPTED if accepted else ConsentState.REFUSED
    return dataclasses.replace(consent, state=state, answered_at=at)


def message(consent: Consent) -> p.Consent:
    return p.Consent(peer=consent.hub, pairing=consent.pairing, ticket=consent.ticket,
                     wording=consent.wording, accepted=consent.state is ConsentState.ACCEPTED,
                     at=consent.answered_at)


def overlay(consent: Consent, view: View, now: float) -> View:
    """The screen while asking (the question first: the narrator reads it), and the answer
    for a few seconds after it was given."""
    if consent.state is ConsentState.ASKING:
        return dataclasses.replace(view, banner=text("consent.banner"),
                                   lines=(text(WORDINGS[consent.wording]), text("consent.keys")),
                                   show_officer=False)
    if consent.answered and now - consent.answered_at < limits.CONSENT_ANSWER_SHOWN_S:
        said = text("consent.accepted" if consent.state is ConsentState.ACCEPTED
                    else "consent.refused")
        return dataclasses.replace(view, lines=(said, *view.lines))
    return view


class ConsentAsker:
    """The agent's side: state, the answer sent, the question on the screen."""

    def __init__(self, *, enabled: bool, send: Callable[[p.Message], None],
                 clock: Callable[[], float], online: Callable[[], bool] = lambda: True) -> None:
        self.enabled = enabled
        self.send = send
        self.clock = clock
        self.online = online
        self.consent = Consent()
        self.unsent = False  # answered while the server was away: sent at the next pairing

    def in_session(self, ticket: str, pairing: str, hub: str) -> None:
        """The booth is paired with ``hub`` for ``ticket``: ask (once per ticket)."""
        if not self.enabled or not ticket or not pairing:
            return
        before = self.consent
        self.consent = ask(before, ticket, pairing, hub)
        if self.consent.state is ConsentState.ASKING and before.state is not ConsentState.ASKING:
            log.info("consent asked", extra={"fields": {"ticket": ticket,
                                                        "wording": self.consent.wording}})
        elif self.consent.answered and (self.unsent
                                        or (before.pairing, before.hub) != (pairing, hub)):
            self._send()  # the server missed it, or the new pairing's hub learns it too

    def press(self, key: int) -> bool:
        """A key or the hand button: ``True`` when it answered the question."""
        if self.consent.state is not ConsentState.ASKING:
            return False
        if key in ACCEPT_KEYS:
            accepted = True
        elif key in REFUSE_KEYS:
            accepted = False
        else:
            return False
        self.consent = answer(self.consent, accepted, self.clock())
        log.info("consent answered", extra={"fields": {"ticket": self.consent.ticket,
                                                       "accepted": accepted}})
        self._send()
        return True

    def _send(self) -> None:
        self.unsent = not self.online()
        if not self.unsent:
            self.send(message(self.consent))

    def overlay(self, view: View) -> View:
        return overlay(self.consent, view, self.clock())
