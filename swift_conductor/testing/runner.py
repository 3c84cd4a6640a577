"""Serve workers for the length of a ``with`` block: in threads of the test process, or in worker processes.

What counts as a worker's *unexpected* error (it fails the test, unless ``raise_on_error=False``):

- any exception escaping the worker's ``execute`` (for a ``@worker_task`` function: escaping the function), except
  a ``NonRetryableError`` raised on purpose; inputs that do not bind to the function's parameters
  (``TaskInputError``) do count: they mean the workflow and the worker disagree;
- ``execute`` returning something the runtime cannot report: not a ``TaskResult``, a result without a status, or
  an output that is not JSON.

A ``TaskResult`` with status FAILED, ``NonRetryableError`` and ``InProgress`` are deliberate and never count.
Only thread mode sees the exceptions; in process mode the task still fails and ``run_workflow`` shows its
traceback (taken from the task's logs).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Type, Union

from ..configuration import Configuration
from ..http.models import Task, TaskResult
from ..worker.errors import NonRetryableError, TaskInputError
from ..worker.settings import WorkerSettings, resolve_settings
from ..worker.worker_interface import WorkerAbc
from .unit import as_worker

logger = logging.getLogger("swift_conductor.testing")

#: Milliseconds the server may hold an empty poll open; also the longest a stop waits for a poll to return.
TEST_POLL_TIMEOUT_MS = 200
#: Milliseconds to pause after an empty poll (the worker's own interval is not used: tests want speed).
TEST_POLLING_INTERVAL_MS = 10.0

WorkerLike = Union[WorkerAbc, Callable[..., Any]]


@dataclass
class WorkerError:
    """An unexpected error inside a worker while it ran a task."""

    task_name: str
    task_id: Optional[str]
    workflow_id: Optional[str]
    error: str  # ``ExceptionType: message``
    traceback: str
    fatal: bool = True  # False when its ``run_workers`` block was told ``raise_on_error=False``
    reported: bool = False

    def describe(self) -> str:
        return (
            f"worker for task {self.task_name!r} raised {self.error} "
            f"(task {self.task_id} of workflow {self.workflow_id}); its traceback:\n{self.traceback.rstrip()}"
        )


class WorkerErrors:
    """The unexpected errors of one test's workers, shared with ``run_workflow`` so it can stop waiting early."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: List[WorkerError] = []

    def add(self, error: WorkerError) -> None:
        with self._lock:
            self._errors.append(error)

    def all(self) -> List[WorkerError]:
        with self._lock:
            return list(self._errors)

    def unreported(self, workflow_id: Optional[str] = None) -> List[WorkerError]:
        """Errors meant to fail the test and not yet reported (of one workflow, if given)."""
        with self._lock:
            return [
                e
                for e in self._errors
                if e.fatal and not e.reported and (workflow_id is None or e.workflow_id == workflow_id)
            ]


class _Watched(WorkerAbc):
    """A worker seen through a window: its unexpected errors are recorded, then handled exactly as before."""

    def __init__(self, inner: WorkerAbc, errors: WorkerErrors, fatal: bool) -> None:
        super().__init__(inner.task_definition_names)
        self.inner = inner
        self.errors = errors
        self.fatal = fatal

    def execute(self, task: Task) -> TaskResult:
        try:
            result = self.inner.execute(task)
        except NonRetryableError as exc:
            if isinstance(exc, TaskInputError):
                self._record(task, exc)
            raise
        except BaseException as exc:
            self._record(task, exc)
            raise
        problem = _result_problem(result)
        if problem:
            self._record(task, None, problem)
        return result

    def _record(self, task: Task, exc: Optional[BaseException], problem: str = "") -> None:
        if exc is not None:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        else:
            error, text = problem, f"{type(self.inner).__name__}.execute returned a result it cannot report\n"
        name = task.task_def_name or task.task_type or self.inner.task_definition_names[0]
        self.errors.add(WorkerError(name, task.task_id, task.workflow_instance_id, error, text, self.fatal))

    # Everything else is the inner worker's.
    def check(self) -> None:
        self.inner.check()

    def get_identity(self) -> str:
        return self.inner.get_identity()

    def get_task_result_from_task(self, task: Task) -> TaskResult:
        return self.inner.get_task_result_from_task(task)

    def get_domain(self) -> Optional[str]:
        return self.inner.get_domain()

    def paused(self) -> bool:
        return self.inner.paused()

    def __repr__(self) -> str:
        return repr(self.inner)


def _result_problem(result: Any) -> str:
    if not isinstance(result, TaskResult):
        return f"TypeError: execute returned {type(result).__name__}, not TaskResult"
    if result.status is None:
        return "ValueError: execute returned a TaskResult without a status"
    try:
        json.dumps(result.output_data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"TypeError: task output is not JSON-serializable: {exc}"
    return ""


class RunningWorkers:
    """Workers served until :meth:`stop` (or the end of the ``with`` block). Build it with :func:`run_workers`."""

    def __init__(
        self,
        workers: List[WorkerAbc],
        configuration: Configuration,
        *,
        thread_count: Optional[int],
        processes: bool,
        raise_on_error: bool,
        grace_period: float,
        errors: WorkerErrors,
    ) -> None:
        self.workers = workers
        self.configuration = configuration
        self.thread_count = thread_count
        self.processes = processes
        self.raise_on_error = raise_on_error
        self.grace_period = grace_period
        self.worker_errors = errors
        self._runners: List[Any] = []
        self._threads: List[threading.Thread] = []
        self._host: Any = None
        self._started = False
        self._stopped = False
        self.exited = False  # the ``with`` block ended (and checked for errors)

    @property
    def errors(self) -> List[WorkerError]:
        """The unexpected errors seen so far (thread mode), for tests run with ``raise_on_error=False``."""
        return self.worker_errors.all()

    def start(self) -> RunningWorkers:
        if self._started:
            return self
        self._started = True
        if self.processes:
            self._start_processes()
        else:
            self._start_threads()
        return self

    def _start_threads(self) -> None:
        from ..automation.task_runner import TaskRunner

        for worker in self.workers:
            settings = [self._settings(worker, name) for name in worker.polled_task_names()]
            watched = _Watched(worker, self.worker_errors, self.raise_on_error)
            runner = TaskRunner(watched, settings, self.configuration)
            thread = threading.Thread(
                target=runner.run,
                kwargs={"grace_period": self.grace_period},
                name=f"test-worker-{settings[0].task_name}",
                daemon=True,
            )
            self._runners.append(runner)
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def _settings(self, worker: WorkerAbc, name: str) -> WorkerSettings:
        """The worker's own settings (constructor only: no environment, no worker.ini), polling fast."""
        settings = resolve_settings(worker, name, None, {})
        return dataclasses.replace(
            settings,
            thread_count=self.thread_count or settings.thread_count,
            polling_interval=TEST_POLLING_INTERVAL_MS,
            poll_timeout=TEST_POLL_TIMEOUT_MS,
            paused=False,
        )

    def _start_processes(self) -> None:
        from ..automation.worker_host import WorkerHost

        # The environment is not read (as in thread mode); ``thread_count`` goes in as its override, which
        # leaves the caller's worker objects as they were.
        environ = {} if self.thread_count is None else {"conductor_worker_thread_count": str(self.thread_count)}
        self._host = WorkerHost(
            self.workers, self.configuration, grace_period=self.grace_period, log_level=logging.WARNING, environ=environ
        )
        self._host.start_processes()

    def stop(self) -> None:
        """Stop polling, let in-flight tasks finish and report (up to the grace period), then return."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        if self._host is not None:
            self._host.stop_processes()
            return
        for runner in self._runners:
            runner.stop()
        for thread, runner in zip(self._threads, self._runners):
            thread.join(self.grace_period + TEST_POLL_TIMEOUT_MS / 1000 + 5)
            if thread.is_alive():
                logger.error("worker %r did not stop within its grace period", runner.worker)

    def check(self) -> None:
        """Raise AssertionError for unexpected worker errors not yet reported (if ``raise_on_error``)."""
        if not self.raise_on_error:
            return
        errors = self.worker_errors.unreported()
        if not errors:
            return
        for error in errors:
            error.reported = True
        more = f"\n({len(errors) - 1} more unexpected worker error(s) in this block)" if len(errors) > 1 else ""
        raise AssertionError(
            errors[0].describe() + more + "\n(run_workers(..., raise_on_error=False) lets a test expect this)"
        )

    def __enter__(self) -> RunningWorkers:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.exited = True
        self.stop()
        if exc is None:
            self.check()
            return
        errors = self.worker_errors.unreported() if self.raise_on_error else []
        if errors and hasattr(exc, "add_note"):  # Python 3.11+: say what the workers did too
            for error in errors:
                error.reported = True
            exc.add_note("meanwhile, " + errors[0].describe())


def run_workers(
    *workers: WorkerLike,
    configuration: Optional[Configuration] = None,
    thread_count: Optional[int] = None,
    processes: bool = False,
    raise_on_error: bool = True,
    grace_period: float = 10.0,
    worker_errors: Optional[WorkerErrors] = None,
) -> RunningWorkers:
    """Serve ``workers`` (``WorkerAbc`` instances or ``@worker_task`` functions) for a ``with`` block.

    Threads of this process by default (fast; coverage and breakpoints work), one ``TaskRunner`` per worker;
    ``processes=True`` runs them in ``WorkerHost`` processes instead. ``thread_count`` overrides every worker's.
    Leaving the block stops polling and drains in-flight tasks. Unexpected worker errors (see the module doc)
    then fail with the worker's traceback, unless ``raise_on_error=False``.
    """
    if not workers:
        raise TypeError("run_workers: give at least one worker (a WorkerAbc or a @worker_task function)")
    if thread_count is not None and (
        isinstance(thread_count, bool) or not isinstance(thread_count, int) or thread_count < 1
    ):
        raise ValueError(f"run_workers: thread_count must be a whole number >= 1, got {thread_count!r}")
    if isinstance(grace_period, bool) or not isinstance(grace_period, (int, float)) or grace_period < 0:
        raise ValueError(f"run_workers: grace_period must be seconds >= 0, got {grace_period!r}")
    resolved: List[WorkerAbc] = []
    for given in workers:
        worker = as_worker(given, allow_plain=False)
        if all(worker is not w for w in resolved):
            resolved.append(worker)
    owners: Dict[str, WorkerAbc] = {}
    for worker in resolved:
        for name in worker.polled_task_names():
            if name in owners and owners[name] is not worker:
                raise ValueError(f"run_workers: two workers serve task {name!r}: {owners[name]!r} and {worker!r}")
            owners[name] = worker
    return RunningWorkers(
        resolved,
        configuration or Configuration(),
        thread_count=thread_count,
        processes=processes,
        raise_on_error=raise_on_error,
        grace_period=float(grace_period),
        errors=worker_errors or WorkerErrors(),
    )
