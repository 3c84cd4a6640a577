"""The one retry policy: what is worth trying again, and how long to wait before the next try.

Polling, result reporting and lease extension all use it, so a server that is away is treated the same way by
each of them: connection errors, timeouts, 408/429 and 5xx answers (unless the server's body says
``"retryable": false``) are transient and retried with exponential backoff and jitter; anything else is final.

This module depends on nothing else in the package, so :mod:`swift_conductor.errors` can ask it too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional


def retryable_status(status: int, server_says: Optional[bool] = None) -> bool:
    """Whether an HTTP error status is worth retrying. A 5xx counts unless the server marked it final."""
    if status in (408, 429):
        return True
    if status >= 500:
        return server_says is not False
    return False


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: a :class:`~swift_conductor.errors.ConductorError` whose ``retryable`` is true."""
    return bool(getattr(exc, "retryable", False))


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: try ``n`` waits uniformly within [d/2, d], d = base * 2**n, capped."""

    base: float
    cap: float

    def delay(self, attempt: int) -> float:
        return backoff_delay(attempt, self.base, self.cap)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """The wait before retry number ``attempt`` (0 for the first retry)."""
    delay = min(cap, base * (2 ** min(max(attempt, 0), 30)))
    return random.uniform(delay / 2, delay)


#: Polls after a failed poll: quick at first, then at most every 30 s while the server is away.
POLL_BACKOFF = Backoff(base=0.25, cap=30.0)
#: Results and lease extensions that the server could not take yet: retried for as long as the process lives.
REPORT_BACKOFF = Backoff(base=0.5, cap=30.0)
#: At shutdown the grace period is short: undelivered results are retried at most this far apart.
DRAIN_RETRY_S = 0.5
