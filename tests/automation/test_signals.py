"""How stop signals are counted: copies within the settling window are one stop, a later one is a second stop."""

from __future__ import annotations

from typing import List

from swift_conductor.automation.signals import FIRST, SECOND, SETTLE_WINDOW_S, StopSignals


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_copies_within_the_window_are_one_stop_and_a_later_signal_is_the_second() -> None:
    clock = Clock()
    stops = StopSignals(clock=clock)
    seen: List[int] = [stops.receive()]
    clock.now += 0.01  # the host's forwarded copy of the group's signal
    seen.append(stops.receive())
    clock.now += SETTLE_WINDOW_S * 0.9
    seen.append(stops.receive())  # still settling: measured from the stop acted on
    clock.now += SETTLE_WINDOW_S * 0.2
    seen.append(stops.receive())  # a person pressing Ctrl-C again
    clock.now += 0.01
    seen.append(stops.receive())  # ...whose copy is dropped too
    assert seen == [FIRST, 0, 0, SECOND, 0]
    assert stops.copies == 3 and stops.stops == 2
