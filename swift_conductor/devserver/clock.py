"""The engine's one source of time, which a test can move forward.

Every timestamp (epoch ms) and every due time (retry delays, callbacks, response timeouts, waits) is read
from one ``Clock`` owned by the engine, so moving it moves them all consistently. The clock only moves
forward: going back would make finished tasks end before they started.
"""

from __future__ import annotations

import math
import time


class TimeControlDisabled(RuntimeError):
    """``advance`` on a server that was not started with time control."""


class Clock:
    """Wall and monotonic time plus an offset that ``advance`` grows (only when time control is on)."""

    __slots__ = ("_offset", "controllable")

    def __init__(self, controllable: bool = False) -> None:
        self.controllable = controllable
        self._offset = 0.0  # seconds added to both time sources

    @property
    def offset_ms(self) -> int:
        return int(self._offset * 1000)

    def now_ms(self) -> int:
        """Epoch milliseconds, as the real server stamps tasks and workflows."""
        return int((time.time() + self._offset) * 1000)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; due times in queues use it."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward; callers hold the engine lock so nobody sees half a move."""
        if not self.controllable:
            raise TimeControlDisabled(
                "time control is off: start the server with EmbeddedServer(time_control=True) "
                "(or `swift-conductor devserver --time-control`) to move its clock"
            )
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ValueError(f"seconds must be a finite number, got {seconds!r}")
        if seconds < 0:
            raise ValueError(f"the clock only moves forward: seconds must be >= 0, got {seconds}")
        self._offset += float(seconds)
