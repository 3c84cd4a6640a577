"""Delivers task results, in the background, and keeps retrying the ones the server could not take yet.

Execution threads hand a result over and go back to work at once: reporter threads send it. A result that
fails with a transient error (connection error, timeout, 429, or a 5xx the server does not mark as final) is
retried with exponential backoff and jitter for as long as the process lives. A result the server refuses for
good is logged with its task id; when the refusal is about the result itself (400, 413 or a final 500, e.g. an
output it cannot store) a FAILED result carrying the server's reason is sent in its place, so the workflow does
not wait for a response timeout.

**update-v2.** :meth:`ResultSender.report_now` sends a result by ``POST /tasks/update-v2`` on the calling thread
and returns the task that came back: the execution thread whose slot that result freed runs it next. update-v2 is
tried once per result; whatever that call does not settle goes to the reporters the v1 way (a retry by update-v2
would take another task from the queue each time: Conductor OSS answers even a repeated update with a new task),
and a server without update-v2 is remembered for the process.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import List, Optional, Set, Tuple

from ..clients import TaskClient
from ..clients.task_client import update_v2_unsupported
from ..errors import ConductorApiError, ConductorError
from ..http.models import Task, TaskResult
from ..http.models.task_result import MAX_REASON_LENGTH
from ..http.models.task_result_status import TaskResultStatus
from ..retry import DRAIN_RETRY_S, REPORT_BACKOFF, is_transient
from . import metrics as _metrics
from .runner_log import one_line, short_error

logger = logging.getLogger("swift_conductor.automation")

_REPLACEABLE = (400, 413, 500)

#: A queued result: (due, seq, attempt, result).
_Entry = Tuple[float, int, int, TaskResult]


class ResultSender:
    """Reporter threads (up to ``reporters``) sending queued results.

    A reporter is started only when a result is queued while every reporter has one already, so a worker whose
    results go out one at a time keeps one reporter however many threads it has. Two conditions share one lock so that
    nobody wakes for nothing: reporters wait on ``_work`` (one is woken per queued result), ``wait_for_room``
    and ``flush`` wait on ``_room`` (woken when a result leaves the backlog)."""

    def __init__(self, client: TaskClient, reporters: int = 1) -> None:
        self.client = client
        self.reporters = max(1, reporters)
        self._heap: List[_Entry] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()  # re-entrant, as a signal handler may ask for pending_task_ids
        self._work = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._busy = 0  # results reporters are sending
        self._sending: List[TaskResult] = []  # results under way: by reporters, and by report_now
        self._idle = 0  # reporters waiting on _work
        self._room_waiters = 0  # threads waiting on _room (nobody, mostly: then a result leaving costs nothing)
        self._draining = False
        self._closed = False
        self._threads: List[threading.Thread] = []
        self._replaced: Set[str] = set()
        self.delivered = 0
        self.refused = 0
        self.delivered_v2 = 0
        self.lost: List[str] = []  # task ids whose result was never delivered

    def submit(self, result: TaskResult) -> None:
        """Queue a result for delivery (the v1 way); returns at once."""
        self._push(result, 0, 0.0)

    @property
    def backlog(self) -> int:
        """Results not delivered yet (queued, being sent, or waiting for a retry)."""
        with self._lock:
            return len(self._heap) + len(self._sending)

    @property
    def reporter_threads(self) -> int:
        """Reporter threads started so far (they are started on demand, up to ``reporters``)."""
        with self._lock:
            return len(self._threads)

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Block until fewer than ``limit`` results wait (True) or ``timeout`` passes (False)."""
        with self._lock:
            if len(self._heap) + len(self._sending) < limit:
                return True
            deadline = time.monotonic() + timeout
            while len(self._heap) + len(self._sending) >= limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._room_waiters += 1
                try:
                    self._room.wait(left)
                finally:
                    self._room_waiters -= 1
            return True

    def _push(self, result: TaskResult, attempt: int, delay: float, *, own: bool = False) -> None:
        """Queue a result; ``own``: pushed by a reporter about the result it holds, which it is about to free."""
        with self._lock:
            if not self._closed:
                heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), attempt, result))
                waiting = len(self._heap) + self._busy - (1 if own else 0)
                if waiting <= len(self._threads) or len(self._threads) >= self.reporters:
                    self._work.notify()
                else:  # more results than reporters: one more reporter
                    thread = threading.Thread(
                        target=self._loop, name=f"result-sender-{len(self._threads)}", daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()
                return
        self._log_lost(result, attempt)

    def _next(self) -> Optional[Tuple[int, TaskResult]]:
        with self._lock:
            while not self._closed:
                wait: Optional[float] = None
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, attempt, result = heapq.heappop(self._heap)
                        self._busy += 1
                        self._sending.append(result)
                        if self._heap and self._idle:
                            self._work.notify()  # another reporter takes (or times) what is left
                        return attempt, result
                self._idle += 1
                try:
                    self._work.wait(wait)
                finally:
                    self._idle -= 1
            return None

    def _loop(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            attempt, result = item
            try:
                self._attempt(result, attempt)
            except Exception:  # a bug of ours must not end delivery: keep the result and go on
                logger.exception("unexpected error while reporting task %s; will retry", result.task_id)
                self._push(result, attempt + 1, REPORT_BACKOFF.delay(attempt), own=True)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._sending.remove(result)
                    if self._room_waiters:
                        self._room.notify_all()

    def _attempt(self, result: TaskResult, attempt: int) -> None:
        began = time.perf_counter()
        try:
            self.client.update_task(result)
        except ConductorError as exc:
            self._failed(result, attempt, exc)
            return
        except (TypeError, ValueError) as exc:  # the result cannot be encoded (execute_task normally prevents it)
            self._refused(result, f"result cannot be encoded as JSON: {exc}", True)
            return
        if _metrics.recorder.enabled:
            _metrics.recorder.update_done(result, time.perf_counter() - began)
        with self._lock:
            self.delivered += 1

    def report_now(self, result: TaskResult) -> Optional[Task]:
        """Send ``result`` by update-v2 on the calling thread; return the task that came back, or None.

        The runner's execution thread calls this for a finished task while its slot is claimed for the next
        one, and runs the task that comes back itself: a busy worker's tasks then make no trip between
        threads. Each such trip wakes a sleeping thread, which costs more CPU than the call's own work where
        the server, not the worker, sets the pace. Whatever this call cannot settle is left to the reporters: a
        failed call's result is queued for a retry the v1 way, and where the server lacks update-v2 (remembered
        for the process) the result is queued at once. It counts in :attr:`backlog` and :meth:`flush` while under
        way, like a result a reporter is sending."""
        if self.client.api.facts.update_v2 is False:  # known to lack it (another thread found out): the v1 way
            self.submit(result)
            return None
        with self._lock:
            closed = self._closed
            if not closed:
                self._sending.append(result)
        if closed:
            self._log_lost(result, 0)
            return None
        task: Optional[Task] = None
        settled = False
        try:
            settled, task = self._v2(result)
            if not settled:
                self._push(result, 0, 0.0)
        except Exception:  # a bug of ours must not lose the result: the reporters retry it
            logger.exception("unexpected error while reporting task %s; will retry", result.task_id)
            self._push(result, 1, REPORT_BACKOFF.delay(0))
        finally:
            with self._lock:
                self._sending.remove(result)
                if settled and self._room_waiters:  # (otherwise it is still in the backlog, queued)
                    self._room.notify_all()
        return task

    def _v2(self, result: TaskResult) -> Tuple[bool, Optional[Task]]:
        """One update-v2 call: (settled, the next task). Not settled: the result is to go the v1 way (the server
        has no update-v2, or the result cannot be encoded, which the v1 path reports)."""
        began = time.perf_counter()
        try:
            task = self.client.update_task_v2(result)
        except ConductorError as exc:
            if update_v2_unsupported(exc):
                self.client.api.facts.update_v2 = False
                logger.info("the server has no update-v2; reporting results the v1 way from now on")
                return False, None
            self._failed(result, 0, exc, own=False)
            return True, None
        except (TypeError, ValueError):
            return False, None
        if _metrics.recorder.enabled:
            _metrics.recorder.update_done(result, time.perf_counter() - began)
        with self._lock:
            self.delivered += 1
            self.delivered_v2 += 1
        return True, task

    def _failed(self, result: TaskResult, attempt: int, exc: ConductorError, *, own: bool = True) -> None:
        if is_transient(exc):
            _metrics.recorder.update_retried(result)
            delay = REPORT_BACKOFF.delay(attempt)
            if self._draining:
                delay = min(DRAIN_RETRY_S, delay)
            logger.warning(
                "could not report task %s (attempt %d): %s; retrying in %.1f s",
                result.task_id, attempt + 1, short_error(exc), delay,
            )  # fmt: skip
            self._push(result, attempt + 1, delay, own=own)
        else:
            replaceable = isinstance(exc, ConductorApiError) and exc.status in _REPLACEABLE
            self._refused(result, str(exc), replaceable, own=own)

    def _refused(self, result: TaskResult, reason: str, replaceable: bool, *, own: bool = True) -> None:
        with self._lock:
            self.refused += 1
        logger.error(
            "server refused the result of task %s (workflow %s, status %s): %s",
            result.task_id, result.workflow_instance_id, result.status, one_line(reason),
        )  # fmt: skip
        failed = (TaskResultStatus.FAILED, TaskResultStatus.FAILED_WITH_TERMINAL_ERROR)
        if not replaceable or result.status in failed or not result.task_id or result.task_id in self._replaced:
            return
        self._replaced.add(result.task_id)
        replacement = TaskResult(
            task_id=result.task_id,
            workflow_instance_id=result.workflow_instance_id,
            worker_id=result.worker_id,
            status=TaskResultStatus.FAILED,
            reason_for_incompletion=f"the server refused the worker's result: {reason}"[:MAX_REASON_LENGTH],
        )
        self._push(replacement, 0, 0.0, own=own)

    def flush(self, deadline: float) -> int:
        """At shutdown: deliver what is queued, retrying quickly, until done or ``deadline`` (monotonic).
        Returns how many results were not delivered (each is logged with its task id)."""
        with self._lock:
            self._draining = True
            now = time.monotonic()  # everything waiting for a retry gets one right away
            self._heap = [(now, seq, attempt, result) for _, seq, attempt, result in self._heap]
            heapq.heapify(self._heap)
            self._work.notify_all()
            while self._heap or self._sending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._room_waiters += 1
                try:
                    self._room.wait(min(left, 0.1))
                finally:
                    self._room_waiters -= 1
            self._closed = True
            leftovers = list(self._heap)
            self._heap.clear()
            queued = {id(entry[3]) for entry in leftovers}  # (a result is briefly both, while it is re-queued)
            busy = [entry.task_id or "?" for entry in self._sending if id(entry) not in queued]
            self._work.notify_all()
            self._room.notify_all()
        for _, _, attempt, result in leftovers:
            self._log_lost(result, attempt)
        if busy:
            logger.error(
                "%d result(s) were still being sent when the grace period ended (tasks %s)", len(busy), ", ".join(busy)
            )
        return len(leftovers) + len(busy)

    def pending_task_ids(self) -> List[str]:
        """Task ids of the results not delivered yet: queued, waiting for a retry, or being sent."""
        with self._lock:
            ids = [entry.task_id or "?" for entry in self._sending] + [entry[3].task_id or "?" for entry in self._heap]
            return list(dict.fromkeys(ids))  # a result being re-queued is briefly in both

    def _log_lost(self, result: TaskResult, attempt: int) -> None:
        self.lost.append(result.task_id or "?")
        _metrics.recorder.result_abandoned(result)
        logger.error(
            "result of task %s (workflow %s, status %s) not delivered after %d attempts before shutdown",
            result.task_id, result.workflow_instance_id, result.status, attempt,
        )  # fmt: skip
