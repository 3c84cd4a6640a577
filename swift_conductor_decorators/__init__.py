"""``@worker_task``: turn a plain function into a Conductor worker."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, TypeVar, Union

from swift_conductor.worker import registry
from swift_conductor.worker.worker import Worker, WorkerFunction

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["worker_task"]


def worker_task(
    task_definition_name: Union[str, Sequence[str]],
    *,
    domain: Optional[str] = None,
    poll_interval: Optional[float] = None,
    worker_id: Optional[str] = None,
    thread_count: int = 1,
    poll_timeout: Optional[int] = None,
    extend_lease: Optional[bool] = None,
) -> Callable[[F], F]:
    """Register the decorated function as the worker for ``task_definition_name``.

    The function stays directly callable with its plain behaviour; ``WorkerHost.from_registry()`` runs it.
    ``poll_interval`` is in milliseconds. ``worker.ini`` and environment variables override these settings.
    """

    def decorate(func: F) -> F:
        registry.register(
            Worker(
                task_definition_name,
                func,
                poll_interval=poll_interval,
                domain=domain,
                worker_id=worker_id,
                thread_count=thread_count,
                poll_timeout=poll_timeout,
                extend_lease=extend_lease,
            )
        )
        return WorkerFunction(func)  # type: ignore[return-value]

    return decorate
