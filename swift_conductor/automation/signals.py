"""Stop signals, counted the same way in the host and in each worker process.

A stop can reach a process several times at once: systemd (``KillMode=control-group``), ``kill -- -PGID``,
a terminal's Ctrl-C and container runtimes signal the whole process group, and the host also forwards a stop
to each worker process. Copies that arrive within :data:`SETTLE_WINDOW_S` of the stop that was acted on are
the same stop and are ignored. A signal after that window is a second, deliberate stop (a second Ctrl-C from
a person): stop at once, abandoning the tasks still running.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any, Callable, Dict, Optional

#: Seconds after an accepted stop signal during which further stop signals count as copies of it.
SETTLE_WINDOW_S = 1.0

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

FIRST = 1
SECOND = 2


class StopSignals:
    """Tells a first stop from a copy of it and from a deliberate second stop."""

    def __init__(self, window: float = SETTLE_WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._accepted_at: Optional[float] = None
        self.stops = 0
        self.copies = 0

    def receive(self) -> int:
        """0 for a copy of the stop being handled, :data:`FIRST` or :data:`SECOND` (and later) otherwise."""
        now = self._clock()
        if self._accepted_at is not None and now - self._accepted_at < self.window:
            self.copies += 1
            return 0
        self._accepted_at = now
        self.stops += 1
        return FIRST if self.stops == 1 else SECOND

    def reset(self) -> None:
        self._accepted_at = None
        self.stops = 0


def install(on_stop: Callable[[int, int], None], counter: StopSignals) -> Dict[int, Any]:
    """Route SIGINT and SIGTERM to ``on_stop(signum, FIRST | SECOND)`` (copies are dropped).

    Returns the previous handlers (for :func:`restore`); installs nothing outside the main thread, where
    Python cannot set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        which = counter.receive()
        if which:
            on_stop(signum, which)

    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def restore(previous: Dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
