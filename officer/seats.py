"""The hub's seats and focus as a pure model: state in, event in, state and effects out.

A seat is one of the officer's ``max_booths`` places (the key 1-6 that focuses it, the
console's video for it); a booth takes the lowest free seat when paired and leaves it when
freed. At most one booth is in focus: it gets the officer's camera and voice, the console's
headset gets its voice, and it and the server are told. Like ``booth/state.py``, nothing
here does I/O or reads a clock: :func:`transition` returns what the hub must do
(:class:`SendOfficer`, :class:`TellAttention`, :class:`TellFocus`, :class:`BindConsole`),
and the hub's shell does it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from officer import limits


@dataclass(frozen=True)
class Seat:
    number: int  # 1..max_booths
    booth: str
    pairing: str


@dataclass(frozen=True)
class Seats:
    seats: tuple[Seat, ...] = ()  # by seat number
    focused: str | None = None
    max_booths: int = limits.MAX_BOOTHS

    def of(self, booth: str) -> Seat | None:
        for seat in self.seats:
            if seat.booth == booth:
                return seat
        return None

    @property
    def full(self) -> bool:
        return len(self.seats) >= self.max_booths

    @property
    def free(self) -> int:
        return max(0, self.max_booths - len(self.seats))


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paired:
    """The server paired ``booth`` with this hub (or renamed its pairing)."""

    booth: str
    pairing: str


@dataclass(frozen=True)
class Freed:
    booth: str


@dataclass(frozen=True)
class Focus:
    """The officer focuses ``booth`` (None: nobody)."""

    booth: str | None


Event = Paired | Freed | Focus


# -- effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOfficer:
    """``booth`` gets the officer (focused) or the card and silence (not)."""

    booth: str
    focused: bool


@dataclass(frozen=True)
class TellAttention:
    booth: str
    pairing: str
    focused: bool


@dataclass(frozen=True)
class TellFocus:
    booth: str | None


@dataclass(frozen=True)
class BindConsole:
    """Which booth each console seat shows, and whose voice the headset gets."""

    seats: tuple[tuple[int, str], ...]
    voice: str | None


@dataclass(frozen=True)
class Refused:
    booth: str
    reason: str  # "hub_full" or "not_here"


Effect = SendOfficer | TellAttention | TellFocus | BindConsole | Refused


def _bind(state: Seats) -> BindConsole:
    return BindConsole(tuple((s.number, s.booth) for s in state.seats), state.focused)


def transition(state: Seats, event: Event) -> tuple[Seats, list[Effect]]:
    if isinstance(event, Paired):
        seat = state.of(event.booth)
        if seat is not None:
            if seat.pairing == event.pairing:
                return state, []
            renamed = tuple(replace(s, pairing=event.pairing) if s is seat else s
                            for s in state.seats)
            return replace(state, seats=renamed), []
        if state.full:
            return state, [Refused(event.booth, "hub_full")]
        used = {s.number for s in state.seats}
        number = min(set(range(1, state.max_booths + 1)) - used)
        seats = tuple(sorted((*state.seats, Seat(number, event.booth, event.pairing)),
                             key=lambda s: s.number))
        new = replace(state, seats=seats)
        return new, [SendOfficer(event.booth, False), _bind(new)]
    if isinstance(event, Freed):
        if state.of(event.booth) is None:
            return state, []
        # A focused booth that leaves takes the focus with it; the server knows already (its
        # pairing ended), so only the console is told.
        focused = None if state.focused == event.booth else state.focused
        new = replace(state, seats=tuple(s for s in state.seats if s.booth != event.booth),
                      focused=focused)
        return new, [_bind(new)]
    # Focus
    if event.booth is not None and state.of(event.booth) is None:
        return state, [Refused(event.booth, "not_here")]
    if event.booth == state.focused:
        return state, []
    old = state.of(state.focused) if state.focused is not None else None
    new = replace(state, focused=event.booth)
    effects: list[Effect] = []
    if old is not None:
        effects += [SendOfficer(old.booth, False), TellAttention(old.booth, old.pairing, False)]
    target = new.of(event.booth) if event.booth is not None else None
    if target is not None:
        effects += [SendOfficer(target.booth, True),
                    TellAttention(target.booth, target.pairing, True)]
    effects += [TellFocus(event.booth), _bind(new)]
    return new, effects
