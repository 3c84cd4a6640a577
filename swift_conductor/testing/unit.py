"""Run one task through a worker in the test's own thread: no server, no polling."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional, Union

from ..http.models import Task, TaskResult
from ..worker import execution
from ..worker.registry import registered_workers
from ..worker.worker import Worker, _unwrap
from ..worker.worker_interface import WorkerAbc

_TASK_FIELDS = frozenset(f.name for f in dataclasses.fields(Task)) - {"input_data", "extra"}


def execute_task(
    worker: Union[WorkerAbc, Callable[..., Any]],
    input: Optional[Mapping[str, Any]] = None,
    **task_fields: Any,
) -> TaskResult:
    """Run ``worker`` on a task with ``input`` as its input data and return the TaskResult it reports.

    ``worker`` is a ``WorkerAbc``, a ``@worker_task`` function, or any plain function (wrapped in a ``Worker``
    as ``@worker_task`` would). ``task_fields`` set other ``Task`` fields (``poll_count=3``,
    ``retry_count=1``, ...); ``task_id`` and ``workflow_instance_id`` default to fixed test ids.

    Like the runtime, it never raises for what the worker did: an exception becomes a FAILED result (terminal
    for ``NonRetryableError``) with ``ExceptionType: message`` as the reason and the traceback in ``logs``.
    """
    unknown = sorted(set(task_fields) - _TASK_FIELDS)
    if unknown:
        verb = "is not a Task field" if len(unknown) == 1 else "are not Task fields"
        raise TypeError(f"execute_task: {', '.join(unknown)} {verb} (known: {', '.join(sorted(_TASK_FIELDS))})")
    if input is not None and not isinstance(input, Mapping):
        raise TypeError(f"execute_task: input must be a dict of task inputs, got {type(input).__name__}")
    resolved = as_worker(worker)
    name = resolved.task_definition_names[0]
    fields = {
        "task_id": "test-task-id",
        "workflow_instance_id": "test-workflow-id",
        "task_def_name": name,
        "task_type": name,
        "reference_task_name": name,
        "status": "IN_PROGRESS",
        "poll_count": 1,
        "retry_count": 0,
        **task_fields,
    }
    task = Task(input_data=dict(input or {}), **fields)
    return execution.execute_task(resolved, task)


def as_worker(worker: Union[WorkerAbc, Callable[..., Any]], *, allow_plain: bool = True) -> WorkerAbc:
    """The WorkerAbc behind ``worker``: itself, the registered worker of a ``@worker_task`` function, or (with
    ``allow_plain``) a ``Worker`` named after a plain function."""
    if isinstance(worker, WorkerAbc):
        return worker
    if not callable(worker):
        raise TypeError(f"{worker!r} is not a worker: pass a WorkerAbc or a @worker_task function")
    function = _unwrap(worker)
    for registered in registered_workers():
        if registered.execute_function is function:
            return registered
    if allow_plain:
        return Worker(getattr(function, "__name__", "test_task"), function)
    raise TypeError(
        f"{getattr(function, '__qualname__', function)!r} is not a @worker_task function; decorate it, "
        "or pass Worker('task_name', function)"
    )
