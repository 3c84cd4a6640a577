"""Lease extension: tells the server a long task is still running so it is not timed out and retried.

Opt-in (``extend_lease`` setting): a task's ``responseTimeoutSeconds`` is also how Conductor notices a worker
that hung, and extending leases for a thread stuck forever would hide that. When on, every running task whose
response timeout is set gets ``IN_PROGRESS`` + ``extendLease`` at 60% of it (the server refreshes the task's
update time and ignores the status and output).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Dict, Optional, Tuple

from ..clients import TaskClient
from ..errors import ConductorError
from ..http.models import Task, TaskResult
from ..http.models.task_result_status import TaskResultStatus
from ..retry import REPORT_BACKOFF, is_transient
from ..worker.worker_interface import WorkerAbc
from .runner_log import short_error

logger = logging.getLogger("swift_conductor.automation")

EXTEND_AT = 0.6  # of responseTimeoutSeconds: room for a slow network or a busy server


class LeaseKeeper:
    def __init__(self, client: TaskClient, worker: WorkerAbc) -> None:
        self.client = client
        self.worker = worker
        self._due: Dict[str, Tuple[Task, float, float]] = {}  # task id -> (task, period, next due)
        self._cond = threading.Condition()
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self.extensions = 0
        self._failures: Dict[str, int] = {}  # task id -> transient failures in a row

    def track(self, task: Task) -> bool:
        timeout = task.response_timeout_seconds or 0
        if timeout <= 0 or not task.task_id:
            return False
        period = max(0.5, timeout * EXTEND_AT)
        with self._cond:
            self._due[task.task_id] = (task, period, time.monotonic() + period)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
                self._thread.start()
            self._cond.notify()
        return True

    def forget(self, task: Task) -> None:
        with self._cond:
            self._due.pop(task.task_id or "", None)
            self._failures.pop(task.task_id or "", None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                due = [(tid, entry) for tid, entry in self._due.items() if entry[2] <= now]
                if not due:
                    soonest = min((entry[2] for entry in self._due.values()), default=now + 60)
                    self._cond.wait(max(0.05, soonest - now))
                    continue
                for tid, (task, period, _) in due:
                    self._due[tid] = (task, period, now + period)
            for tid, (task, period, _) in due:
                try:
                    retry_in = self._extend(task)
                except Exception:  # a bug of ours must not end lease keeping for the other tasks
                    logger.exception("unexpected error while extending the lease of task %s", task.task_id)
                    retry_in = None
                if retry_in is not None:
                    with self._cond:
                        if tid in self._due:  # still running: try again before the period is up
                            self._due[tid] = (task, period, time.monotonic() + min(period, retry_in))

    def _extend(self, task: Task) -> Optional[float]:
        """Extend one lease; returns how soon to try again after a transient failure, else None."""
        result = TaskResult(
            task_id=task.task_id,
            workflow_instance_id=task.workflow_instance_id,
            status=TaskResultStatus.IN_PROGRESS,
            extend_lease=True,
            worker_id=self.worker.get_identity(),
        )
        try:
            self.client.update_task(result)
        except ConductorError as exc:
            failures = self._failures.get(task.task_id or "", 0)
            self._failures[task.task_id or ""] = failures + 1
            if not is_transient(exc):
                logger.warning("the server refused to extend the lease of task %s: %s", task.task_id, short_error(exc))
                return None
            delay = REPORT_BACKOFF.delay(failures)
            logger.warning(
                "could not extend the lease of task %s: %s; retrying in %.1f s", task.task_id, short_error(exc), delay
            )
            return delay
        self._failures.pop(task.task_id or "", None)
        self.extensions += 1
        logger.debug("extended the lease of task %s", task.task_id)
        return None
