"""The hub's seats and focus as a pure model: no I/O, every effect checked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from officer.seats import (
    BindConsole,
    Focus,
    Freed,
    Paired,
    Refused,
    Seats,
    SendOfficer,
    TellAttention,
    TellFocus,
    transition,
)


def run(events: list[object], state: Seats | None = None) -> tuple[Seats, list[object]]:
    state = state or Seats(max_booths=3)
    effects: list[object] = []
    for event in events:
        state, out = transition(state, event)  # type: ignore[arg-type]
        effects += out
    return state, effects


def test_booths_take_the_lowest_free_seat_and_a_full_hub_refuses() -> None:
    state, effects = run([Paired("b1", "p1"), Paired("b2", "p2"), Paired("b3", "p3")])
    assert [(s.number, s.booth) for s in state.seats] == [(1, "b1"), (2, "b2"), (3, "b3")]
    assert effects[-1] == BindConsole(((1, "b1"), (2, "b2"), (3, "b3")), None)
    state, effects = run([Paired("b4", "p4")], state)
    assert effects == [Refused("b4", "hub_full")] and state.of("b4") is None
    state, effects = run([Freed("b2"), Paired("b4", "p4")], state)
    assert state.of("b4") is not None and state.of("b4").number == 2  # type: ignore[union-attr]


def test_a_repeated_pairing_changes_nothing_and_a_new_name_is_kept() -> None:
    state, _ = run([Paired("b1", "p1")])
    again, effects = transition(state, Paired("b1", "p1"))
    assert again == state and effects == []
    renamed, effects = transition(state, Paired("b1", "p9"))
    assert effects == [] and renamed.of("b1").pairing == "p9"  # type: ignore[union-attr]


def test_focus_moves_the_officer_and_tells_both_booths_and_the_server() -> None:
    state, _ = run([Paired("b1", "p1"), Paired("b2", "p2")])
    state, effects = transition(state, Focus("b1"))
    assert effects == [SendOfficer("b1", True), TellAttention("b1", "p1", True),
                       TellFocus("b1"), BindConsole(((1, "b1"), (2, "b2")), "b1")]
    state, effects = transition(state, Focus("b2"))
    assert effects[:4] == [SendOfficer("b1", False), TellAttention("b1", "p1", False),
                           SendOfficer("b2", True), TellAttention("b2", "p2", True)]
    assert effects[-1] == BindConsole(((1, "b1"), (2, "b2")), "b2")
    same, effects = transition(state, Focus("b2"))
    assert same == state and effects == []
    state, effects = transition(state, Focus(None))
    assert state.focused is None and TellFocus(None) in effects


def test_focus_on_a_booth_not_here_is_refused_and_a_freed_focus_goes() -> None:
    state, _ = run([Paired("b1", "p1"), Focus("b1")])
    unchanged, effects = transition(state, Focus("b7"))
    assert unchanged == state and effects == [Refused("b7", "not_here")]
    state, effects = transition(state, Freed("b1"))
    assert state.focused is None and effects == [BindConsole((), None)]
    assert transition(state, Freed("b1")) == (state, [])


events = st.lists(st.one_of(
    st.builds(Paired, st.sampled_from(["b1", "b2", "b3", "b4", "b5"]), st.sampled_from(["p", "q"])),
    st.builds(Freed, st.sampled_from(["b1", "b2", "b3", "b4", "b5"])),
    st.builds(Focus, st.sampled_from(["b1", "b2", "b3", "b4", "b5", None])),
), max_size=40)


@given(events)
def test_any_day_keeps_seats_distinct_bounded_and_focus_on_a_seated_booth(
    day: list[object],
) -> None:
    state = Seats(max_booths=3)
    for event in day:
        state, effects = transition(state, event)  # type: ignore[arg-type]
        numbers = [s.number for s in state.seats]
        assert len(numbers) == len(set(numbers)) <= 3
        assert all(1 <= n <= 3 for n in numbers)
        assert len({s.booth for s in state.seats}) == len(state.seats)
        assert state.focused is None or state.of(state.focused) is not None
        # At most one booth is ever sent the officer by one event.
        assert sum(1 for e in effects if isinstance(e, SendOfficer) and e.focused) <= 1
