"""``@worker_task``: turn a plain function into a Conductor worker."""

from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar, Union

from typing_extensions import Unpack

from swift_conductor.worker import registry
from swift_conductor.worker.options import WorkerOptions, checked_options
from swift_conductor.worker.worker import Worker, WorkerFunction

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["worker_task"]


def worker_task(task_definition_name: Union[str, Sequence[str]], **options: Unpack[WorkerOptions]) -> Callable[[F], F]:
    """Register the decorated function as the worker for ``task_definition_name``.

    The function stays directly callable with its plain behaviour; ``WorkerHost.from_registry()`` runs it.
    ``options`` are the :class:`~swift_conductor.worker.options.WorkerOptions` (``poll_interval`` is in
    milliseconds); ``worker.ini`` and environment variables override them. Type hints are resolved when a host
    is built, not here, so they may name classes defined further down the module.
    """
    given = checked_options("worker_task", options)

    def decorate(func: F) -> F:
        registry.register(Worker(task_definition_name, func, **given))
        return WorkerFunction(func)  # type: ignore[return-value]

    return decorate
