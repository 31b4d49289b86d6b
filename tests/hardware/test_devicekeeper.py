"""The device keeper: health and backoff of one device, without I/O (clock injected)."""

from __future__ import annotations

from bilik.backoff import Backoff
from bilik.devicehealth import DeviceHealth
from hardware.devicekeeper import DeviceKeeper


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_failures_back_off_doubling_to_the_cap_and_success_starts_again() -> None:
    clock = Clock()
    keeper = DeviceKeeper("pole", Backoff(1.0, 4.0, jitter=0.0), clock=clock)
    assert keeper.health is DeviceHealth.ABSENT and keeper.due()
    waits = []
    for _ in range(4):
        assert keeper.due()
        keeper.failed("pole: write failed")
        assert not keeper.due()
        waits.append(keeper.wait_s())
        clock.now = keeper.retry_at
    assert waits == [1.0, 2.0, 4.0, 4.0]
    assert (keeper.health, keeper.attempts) == (DeviceHealth.ERROR, 4)
    assert keeper.ok()
    assert (keeper.health, keeper.detail, keeper.attempts, keeper.due()) == (
        DeviceHealth.OK, "", 0, True)
    keeper.failed("again")
    assert keeper.wait_s() == 1.0  # from the base again


def test_a_device_that_is_gone_is_tried_at_once_and_changes_are_told_apart() -> None:
    clock = Clock()
    keeper = DeviceKeeper("scanner", Backoff(1.0, 30.0, jitter=0.0), clock=clock,
                          health=DeviceHealth.OK)
    assert keeper.failed("unplugged", health=DeviceHealth.REOPENING, hint="plug it in")
    assert (keeper.health, keeper.hint, keeper.since) == (
        DeviceHealth.REOPENING, "plug it in", 100.0)
    clock.now = 100.5
    assert not keeper.failed("unplugged", health=DeviceHealth.REOPENING)  # no change to tell
    assert keeper.since == 100.0 and keeper.attempts == 2
    assert keeper.gone("no such port")
    assert (keeper.health, keeper.attempts, keeper.due(), keeper.since) == (
        DeviceHealth.ABSENT, 0, True, 100.5)
