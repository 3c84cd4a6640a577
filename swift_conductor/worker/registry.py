"""The global registry that ``@worker_task`` fills and ``WorkerHost.from_registry()`` reads.

It lives in ``swift_conductor`` (not in the decorators package) so the host reads it without an import cycle.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Tuple

from .worker import Worker

_lock = threading.Lock()
_workers: Dict[str, Tuple[Tuple[str, int, str], Worker]] = {}


def _identity(func: Callable[..., Any]) -> Tuple[str, int, str]:
    """Where a function is defined. A script imported both as ``__main__`` and by its module name (or again
    in a spawned child as ``__mp_main__``) defines the same function twice: that is not a conflict."""
    code = getattr(func, "__code__", None)
    if code is None:
        return ("", id(func), getattr(func, "__qualname__", repr(func)))
    return (code.co_filename, code.co_firstlineno, func.__qualname__)


def _describe(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(func).__name__)}"


def register(worker: Worker) -> Worker:
    """Add a function worker for each of its task names; a name taken by another function is an error."""
    ident = _identity(worker.execute_function)
    with _lock:
        for name in worker.task_definition_names:
            known = _workers.get(name)
            if known is not None and known[0] != ident:
                raise ValueError(
                    f"task {name!r} is already registered by {_describe(known[1].execute_function)}; "
                    f"{_describe(worker.execute_function)} cannot register it too"
                )
        for name in worker.task_definition_names:
            _workers[name] = (ident, worker)
    return worker


def registered_workers() -> List[Worker]:
    """Every registered worker, once each, in registration order."""
    with _lock:
        unique: Dict[int, Worker] = {}
        for _, worker in _workers.values():
            unique.setdefault(id(worker), worker)
        return list(unique.values())


def clear() -> None:
    """Forget every registered worker (for tests)."""
    with _lock:
        _workers.clear()
