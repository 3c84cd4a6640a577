"""Delivers task results, and keeps retrying the ones the server could not take yet.

The first attempt is made by the thread that ran the task (the cheap, common path). A result that fails with
a transient error (connection error, timeout, 5xx, 429) moves to a retry queue served by one background
thread with exponential backoff and jitter, so it never holds an execution slot. Results are only given up
when the server refuses them for good (a 4xx such as "no such task"), and that is logged with the task id.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from typing import List, Optional, Tuple

from ..clients import TaskClient
from ..http.errors import ConductorApiError, ConductorError
from ..http.models import TaskResult

logger = logging.getLogger("swift_conductor.automation")

RETRY_BASE_S = 0.5
RETRY_MAX_S = 30.0


def is_transient(exc: ConductorError) -> bool:
    if isinstance(exc, ConductorApiError):
        return exc.status >= 500 or exc.status in (408, 429)
    return True  # connection errors and timeouts


def backoff_delay(attempt: int, base: float = RETRY_BASE_S, cap: float = RETRY_MAX_S) -> float:
    """Exponential backoff with full jitter: uniform in [delay/2, delay], delay = base * 2**attempt."""
    delay = min(cap, base * (2 ** min(attempt, 20)))
    return random.uniform(delay / 2, delay)


class ResultSender:
    def __init__(self, client: TaskClient) -> None:
        self.client = client
        self._pending: List[Tuple[float, int, int, TaskResult]] = []  # (due, seq, attempt, result)
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self.delivered = 0
        self.refused = 0

    def send(self, result: TaskResult) -> bool:
        """Try once now; on a transient failure queue it for retries. True when the server took it."""
        return self._attempt(result, 0)

    def _attempt(self, result: TaskResult, attempt: int) -> bool:
        try:
            self.client.update_task(result)
        except ConductorError as exc:
            if not is_transient(exc):
                self.refused += 1
                logger.error(
                    "server refused the result of task %s (workflow %s, status %s): %s",
                    result.task_id,
                    result.workflow_instance_id,
                    result.status,
                    exc,
                )
                return False
            delay = backoff_delay(attempt)
            logger.warning(
                "could not report task %s (attempt %d): %s; retrying in %.1f s",
                result.task_id,
                attempt + 1,
                exc,
                delay,
            )
            self._enqueue(result, attempt + 1, delay)
            return False
        self.delivered += 1
        return True

    def _enqueue(self, result: TaskResult, attempt: int, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._pending, (time.monotonic() + delay, next(self._seq), attempt, result))
            if self._thread is None:
                self._thread = threading.Thread(target=self._retry_loop, name="result-retry", daemon=True)
                self._thread.start()
            self._cond.notify()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def _retry_loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return  # flush() takes over what is pending
                if not self._pending:
                    self._cond.wait()
                    continue
                wait = self._pending[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, attempt, result = heapq.heappop(self._pending)
            self._attempt(result, attempt)

    def flush(self, deadline: float) -> int:
        """At shutdown: retry what is pending now, until done or ``deadline`` (monotonic). Returns how many
        results could not be delivered (they are logged with their task ids)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            with self._cond:
                if not self._pending:
                    break
                _, _, attempt, result = heapq.heappop(self._pending)
            if not self._attempt(result, attempt):
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        with self._cond:
            left = list(self._pending)
            self._pending.clear()
        for _, _, attempt, result in left:
            logger.error(
                "result of task %s (workflow %s, status %s) not delivered after %d attempts before shutdown",
                result.task_id,
                result.workflow_instance_id,
                result.status,
                attempt,
            )
        return len(left)
