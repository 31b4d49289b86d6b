"""The one backoff (bilik/backoff.py): the client's reconnects, the registry's reopens, the
uploader's and the agents' device retries all grow, cap and jitter the same way."""

from __future__ import annotations

import pytest

from bilik.backoff import Backoff


def test_backoff_grows_is_capped_and_jittered() -> None:
    top = Backoff(0.5, 30, factor=2, jitter=0.5, rand=lambda: 1.0)
    assert [top.delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert top.delay(10_000) == 30  # no overflow after a month of retries
    low = Backoff(0.5, 30, factor=2, jitter=0.5, rand=lambda: 0.0)
    assert [low.delay(n) for n in (0, 3, 9)] == [0.25, 2, 15]


def test_next_delay_counts_attempts_and_reset_starts_again() -> None:
    draws = iter([0.0, 1.0 - 1e-9, 0.5] + [0.0] * 20)
    b = Backoff(0.5, 10.0, rand=lambda: next(draws))
    delays = [b.next_delay() for _ in range(8)]
    assert delays[0] == 0.25  # 0.5 scaled by 0.5
    assert delays[1] == pytest.approx(1.0)  # 1.0 scaled by ~1
    assert delays[2] == 1.5  # 2.0 scaled by 0.75
    assert max(delays) <= 10.0 and delays[-1] == 5.0  # capped at 10, then jittered
    b.reset()
    assert b.next_delay() == 0.25


def test_without_jitter_the_delay_doubles_to_the_cap() -> None:
    b = Backoff(1.0, 5.0, jitter=0.0)
    assert [b.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize("kwargs", [
    {"base": 0, "cap": 1}, {"base": 2, "cap": 1}, {"base": 1, "cap": 2, "factor": 0.5},
    {"base": 1, "cap": 2, "jitter": 1.5},
])
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="bad backoff"):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_a_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        Backoff(1, 2).delay(-1)
