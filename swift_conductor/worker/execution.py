"""Run one task through a worker and always come back with a TaskResult to report.

Used by the runtime for every task, and handy in users' unit tests: it never raises for what the worker did.
"""

from __future__ import annotations

import logging
import traceback

from ..http.api_client import BODY_ENCODER
from ..http.models import Task, TaskResult
from ..http.models.task_result import MAX_REASON_LENGTH
from ..http.models.task_result_status import TaskResultStatus
from . import context, failure_log
from .errors import NonRetryableError
from .worker_interface import WorkerAbc

logger = logging.getLogger("swift_conductor.worker")


def execute_task(worker: WorkerAbc, task: Task) -> TaskResult:
    """``worker.execute(task)``, with exceptions mapped to FAILED (or FAILED_WITH_TERMINAL_ERROR for a
    :class:`NonRetryableError`) and ids, worker id and a JSON-safe output guaranteed. The task is
    :func:`~swift_conductor.worker.context.current_task` meanwhile."""
    current, token = context.enter(task)
    try:
        return context.apply(current, _execute(worker, task))
    finally:
        context.leave(current, token)


def _execute(worker: WorkerAbc, task: Task) -> TaskResult:
    try:
        result = worker.execute(task)
        if not isinstance(result, TaskResult):
            raise TypeError(f"{type(worker).__name__}.execute returned {type(result).__name__}, not TaskResult")
        if result.status is None:
            raise ValueError(f"{type(worker).__name__}.execute returned a TaskResult without a status")
        _check_json(result)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:  # a worker calling sys.exit() still gets reported
        result = failed_result(worker, task, exc)
    # Set only what is missing: a result built by get_task_result_from_task has it all already.
    if not result.task_id:
        result.task_id = task.task_id
    if not result.workflow_instance_id:
        result.workflow_instance_id = task.workflow_instance_id
    if not result.worker_id:
        result.worker_id = worker.get_identity()
    return result


def failed_result(worker: WorkerAbc, task: Task, exc: BaseException) -> TaskResult:
    """FAILED with the message as reason and the traceback in the task's logs."""
    terminal = isinstance(exc, NonRetryableError)
    result = worker.get_task_result_from_task(task)
    result.status = TaskResultStatus.FAILED_WITH_TERMINAL_ERROR if terminal else TaskResultStatus.FAILED
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    result.reason_for_incompletion = reason[:MAX_REASON_LENGTH]
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    result.log(trace)
    failure_log.report(task.task_def_name or task.task_type, task.task_id, reason, trace, terminal)
    return result


def _check_json(result: TaskResult) -> None:
    """A TypeError naming the problem when the output cannot be sent as JSON (NaN and infinities included), so
    the worker's task fails with that reason instead of its result being refused on the way out."""
    try:
        BODY_ENCODER.encode(result.output_data)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"task output is not JSON-serializable: {exc}") from exc
