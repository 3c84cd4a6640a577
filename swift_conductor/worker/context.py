"""The task being run, for worker code that does not take a ``Task`` parameter.

While a worker runs a task, :func:`current_task` returns its :class:`TaskContext`: ids, retry and poll counts,
the task type, plus two ways to shape the result without building a ``TaskResult``::

    from swift_conductor import current_task
    from swift_conductor_decorators import worker_task

    @worker_task("resize_image")
    def resize(url: str) -> dict:
        task = current_task()
        task.add_log(f"resizing {url} (attempt {task.retry_count + 1})")
        ...

It is a :mod:`contextvars` variable, so ``async def`` workers see it too (the event loop copies the context into
the coroutine), and so does any thread started with ``contextvars.copy_context().run``. Outside a task,
:func:`current_task` raises ``RuntimeError``.

- ``add_log(message)`` adds a line to the task's execution log on the server (epoch-millisecond timestamp of
  the call), whatever the outcome, also when the worker then raises.
- ``set_callback_after(seconds)`` reports the task ``IN_PROGRESS`` with ``callbackAfterSeconds=seconds``,
  the function's return value as output: the server hands the task back after that delay, as with
  ``InProgress``. An exception still fails the task.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..http.models import Task, TaskExecLog, TaskResult
from ..http.models.task_result_status import TaskResultStatus


@dataclass(eq=False)
class TaskContext:
    """One task being run: read its ids and counts, add log lines, ask to be called back later."""

    task: Task
    logs: List[TaskExecLog] = field(default_factory=list)
    callback_after_seconds: Optional[int] = None

    @property
    def task_id(self) -> Optional[str]:
        return self.task.task_id

    @property
    def workflow_id(self) -> Optional[str]:
        return self.task.workflow_instance_id

    @property
    def task_type(self) -> Optional[str]:
        return self.task.task_def_name or self.task.task_type

    @property
    def retry_count(self) -> int:
        return self.task.retry_count or 0

    @property
    def poll_count(self) -> int:
        return self.task.poll_count or 0

    def add_log(self, message: str) -> None:
        """A line for the task's execution log on the server."""
        self.logs.append(TaskExecLog(log=str(message), task_id=self.task_id, created_time=int(time.time() * 1000)))

    def set_callback_after(self, seconds: int) -> None:
        """Report the task IN_PROGRESS and have the server hand it back after ``seconds``."""
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise ValueError(f"set_callback_after: seconds must be a whole number >= 0, got {seconds!r}")
        self.callback_after_seconds = seconds


_current: contextvars.ContextVar[Optional[TaskContext]] = contextvars.ContextVar(
    "swift_conductor_current_task", default=None
)
# Single dict operations (set, pop, copy) are atomic, so this needs no lock of its own: a global lock taken
# twice per task would make every execution thread of a process contend on it.
_running: Dict[int, TaskContext] = {}


def current_task() -> TaskContext:
    """The task this code runs for; ``RuntimeError`` outside a task."""
    context = _current.get()
    if context is None:
        raise RuntimeError("current_task() is only available while a worker runs a task")
    return context


def current_task_or_none() -> Optional[TaskContext]:
    return _current.get()


def add_log(message: str) -> None:
    """``current_task().add_log(message)``."""
    current_task().add_log(message)


def set_callback_after(seconds: int) -> None:
    """``current_task().set_callback_after(seconds)``."""
    current_task().set_callback_after(seconds)


def running_tasks() -> List[TaskContext]:
    """Every task this process is running now (to name them when a stop abandons them)."""
    return list(_running.copy().values())


def enter(task: Task) -> Tuple[TaskContext, contextvars.Token]:
    """Make ``task`` the current one (for the runtime; pair with :func:`leave`)."""
    context = TaskContext(task)
    _running[id(context)] = context
    return context, _current.set(context)


def leave(context: TaskContext, token: contextvars.Token) -> None:
    _current.reset(token)
    _running.pop(id(context), None)


def apply(context: TaskContext, result: TaskResult) -> TaskResult:
    """Carry the context's log lines and callback request into the result."""
    if context.logs:
        result.logs = [*context.logs, *(result.logs or [])]
    if context.callback_after_seconds is not None and result.status == TaskResultStatus.COMPLETED:
        result.status = TaskResultStatus.IN_PROGRESS
        result.callback_after_seconds = context.callback_after_seconds
    return result
