"""Worker: a WorkerAbc around a plain callable (what ``@worker_task`` builds)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import threading
from typing import Any, Callable, Optional, Sequence, Union

import wrapt
from typing_extensions import Unpack

from ..http.models import Task, TaskResult
from ..http.models.task_result_status import TaskResultStatus
from .binding import Binder, to_output
from .errors import InProgress
from .options import WorkerOptions
from .worker_interface import WorkerAbc


class Worker(WorkerAbc):
    """Runs ``execute_function`` for each task: input keys bind to its parameters, its return value becomes
    the output. See :mod:`swift_conductor.worker.binding` for the rules. An ``async def`` function runs on an
    event loop owned by the execution thread (``thread_count`` tasks at once, as for plain functions).

    The function must be importable (defined at module top level, also in ``__main__``): a worker process
    imports it again by module and name rather than pickling its code.
    """

    def __init__(
        self,
        task_definition_name: Union[str, Sequence[str]],
        execute_function: Callable[..., Any],
        **options: Unpack[WorkerOptions],
    ) -> None:
        super().__init__(task_definition_name, **options)
        if not callable(execute_function):
            raise TypeError(f"Worker {task_definition_name!r}: execute_function must be callable")
        self.execute_function = _unwrap(execute_function)
        self._binder = Binder(self.execute_function)

    def check(self) -> None:
        """Resolve the function's type hints now: an annotation naming something undefined is a
        :class:`WorkerConfigurationError` when the worker is built, not a failure of every task."""
        self._binder.prepare()

    def execute(self, task: Task) -> TaskResult:
        value = self.execute_function(**self._binder.bind(task))
        if inspect.isawaitable(value):
            value = _event_loop().run_until_complete(value)
        if isinstance(value, TaskResult):
            return value
        result = self.get_task_result_from_task(task)
        if isinstance(value, InProgress):
            result.status = TaskResultStatus.IN_PROGRESS
            result.callback_after_seconds = value.callback_after_seconds
            result.output_data = value.output
        else:
            result.status = TaskResultStatus.COMPLETED
            result.output_data = to_output(value)
        return result

    # A worker crosses into a spawned process by reference to its function, never by pickled code.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["execute_function"] = function_reference(self.execute_function)
        del state["_binder"]
        return state

    def __setstate__(self, state: dict) -> None:
        state["execute_function"] = _unwrap(resolve_reference(state["execute_function"]))
        self.__dict__.update(state)
        self._binder = Binder(self.execute_function)


_loops = threading.local()


def _event_loop() -> asyncio.AbstractEventLoop:
    """One event loop per execution thread, kept for the thread's life, for ``async def`` workers."""
    loop: Optional[asyncio.AbstractEventLoop] = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _loops.loop = loop
    return loop


class WorkerFunction(wrapt.FunctionWrapper):
    """What ``@worker_task`` returns: the function itself to callers, and a marker for :func:`_unwrap`."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        super().__init__(wrapped, _call_through)


def _call_through(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    return wrapped(*args, **kwargs)


def _unwrap(func: Callable[..., Any]) -> Callable[..., Any]:
    """The plain function behind a ``@worker_task`` wrapper (other decorators are left in place)."""
    while isinstance(func, WorkerFunction):
        func = func.__wrapped__
    return func


def function_reference(func: Callable[..., Any]) -> Any:
    """How a worker's callable crosses into a worker process.

    A plain function goes by (module, qualified name) and is imported again there: pickle would find the
    ``@worker_task`` wrapper under that name, not the function. Bound methods and callable objects are pickled
    as they are (their object must be picklable).
    """
    if not inspect.isfunction(func):
        return func
    module = getattr(func, "__module__", None)
    qualname = func.__qualname__
    if not module or "<locals>" in qualname or "<lambda>" in qualname:
        raise TypeError(
            f"worker function {qualname} cannot be sent to a worker process: define it at the top level of a module"
        )
    if module == "__main__" and not getattr(sys.modules.get("__main__"), "__file__", None):
        raise TypeError(
            f"worker function {qualname} is defined in an interactive __main__: "
            "worker processes cannot import it; move it into a file"
        )
    return (module, qualname)


def resolve_reference(ref: Any) -> Callable[..., Any]:
    if callable(ref):
        return ref
    module_name, qualname = ref
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
