"""WorkerAbc: the class a worker subclasses for full control over how a task runs."""

from __future__ import annotations

import abc
import itertools
import os
import socket
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Union

from typing_extensions import Unpack

from ..http.models import Task, TaskResult
from .options import OPTION_NAMES, WorkerOptions, checked_options

DEFAULT_POLLING_INTERVAL_MS = 100.0

_serial = itertools.count(1)
_serial_lock = threading.Lock()


class WorkerAbc(abc.ABC):
    """A worker for one task type (or several, polled in turn).

    The options (:class:`~swift_conductor.worker.options.WorkerOptions`, kept in ``self.options``) sit at the
    bottom of the precedence table: ``worker.ini`` and environment variables override them (see
    docs/configuration.md). ``poll_interval`` is in milliseconds, the wait after a poll that found no task; a
    subclass may instead override :meth:`get_polling_interval_in_seconds`. The host reads the settings once,
    when it is built.
    """

    def __init__(self, task_definition_name: Union[str, Sequence[str]], **options: Unpack[WorkerOptions]) -> None:
        names = [task_definition_name] if isinstance(task_definition_name, str) else list(task_definition_name)
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise ValueError(f"task_definition_name must be a non-empty name or list of names, got {names!r}")
        self.task_definition_names: List[str] = names
        self.options: WorkerOptions = checked_options(type(self).__name__, options)
        self._identity: Optional[tuple] = None

    @abc.abstractmethod
    def execute(self, task: Task) -> TaskResult:
        """Run the task and return its result (status COMPLETED, FAILED, ... and output)."""

    def check(self) -> None:
        """Raise :class:`WorkerConfigurationError` if this worker cannot run any task; called when a host or
        task runner is built, so a mistake fails at start-up rather than on every task. Nothing to check here."""
        return None

    # -- the documented accessors ----------------------------------------------------------------------------
    def get_task_result_from_task(self, task: Task) -> TaskResult:
        """A result addressed to ``task`` (ids and worker id filled in), for ``execute`` to complete."""
        return TaskResult(
            task_id=task.task_id,
            workflow_instance_id=task.workflow_instance_id,
            worker_id=self.get_identity(),
        )

    def get_polling_interval_in_seconds(self) -> float:
        interval = self.poll_interval
        return (DEFAULT_POLLING_INTERVAL_MS if interval is None else float(interval)) / 1000.0

    def get_task_definition_name(self) -> str:
        """The (first) task name of this worker."""
        return self.task_definition_names[0]

    def polled_task_names(self) -> List[str]:
        """Every task name this worker serves. A subclass that overrides ``get_task_definition_name()`` to
        return one fixed name (the older style) is honoured."""
        if type(self).get_task_definition_name is not WorkerAbc.get_task_definition_name:
            return [self.get_task_definition_name()]
        return list(self.task_definition_names)

    def get_identity(self) -> str:
        """The worker id sent with polls and results: ``worker_id`` if given, else host, pid and a serial.

        Unique per process and per worker, so the server shows which process holds a task.
        """
        worker_id = self.options.get("worker_id")
        if worker_id:
            return worker_id
        pid = os.getpid()
        if self._identity is None or self._identity[0] != pid:
            with _serial_lock:
                serial = next(_serial)
            self._identity = (pid, f"{socket.gethostname()}-{pid}-{serial}")
        return str(self._identity[1])

    def get_domain(self) -> Optional[str]:
        return self.domain

    def paused(self) -> bool:
        """Return True to stop polling for a while; asked before every poll."""
        return False

    # -- options read as attributes (documented usage) ----------------------------------------------------------
    @property
    def domain(self) -> Optional[str]:
        return self.options.get("domain") or None

    @domain.setter
    def domain(self, value: Optional[str]) -> None:
        self.options["domain"] = value

    @property
    def poll_interval(self) -> Optional[float]:
        """Milliseconds to wait after an empty poll (None: the library default, 100 ms)."""
        return self.options.get("poll_interval")

    @poll_interval.setter
    def poll_interval(self, value: Optional[float]) -> None:
        self.options["poll_interval"] = value

    if not TYPE_CHECKING:  # typed code reads ``options``; this keeps ``worker.thread_count`` & co. working

        def __getattr__(self, name: str) -> Any:
            if name in OPTION_NAMES and "options" in self.__dict__:
                return self.__dict__["options"].get(name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        def __setattr__(self, name: str, value: Any) -> None:
            if name in OPTION_NAMES and "options" in self.__dict__ and not hasattr(type(self), name):
                self.__dict__["options"][name] = value  # an option set as an attribute is still the option
            else:
                super().__setattr__(name, value)

    def __repr__(self) -> str:
        names = ",".join(self.task_definition_names)
        return f"<{type(self).__name__} {names}>"
