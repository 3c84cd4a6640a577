"""Per-process hooks (``on_startup`` / ``on_shutdown``): checked in the host, run in each worker process.

A hook crosses into the worker processes like a worker function does: by module and name. So it must be a
function defined at the top level of a module; a lambda, a nested function or an unpicklable object is refused
when the host is built, not in every child.
"""

from __future__ import annotations

import inspect
import pickle
from typing import Any, Callable, Optional

from ..worker.errors import WorkerConfigurationError


def check_hook(name: str, hook: Any) -> Optional[Callable[[], Any]]:
    if hook is None:
        return None
    if not callable(hook):
        raise WorkerConfigurationError(f"WorkerHost: {name} must be a function, got {hook!r}")
    qualname = getattr(hook, "__qualname__", "")
    if inspect.isfunction(hook) and ("<locals>" in qualname or "<lambda>" in qualname):
        raise WorkerConfigurationError(
            f"WorkerHost: {name}={qualname} cannot be sent to worker processes: "
            "define it as a function at the top level of a module"
        )
    try:
        pickle.dumps(hook)
    except Exception as exc:
        raise WorkerConfigurationError(
            f"WorkerHost: {name}={hook!r} cannot be sent to worker processes ({exc}); "
            "use a function defined at the top level of a module"
        ) from exc
    if inspect.isfunction(hook) and inspect.signature(hook).parameters:
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        params = inspect.signature(hook).parameters.values()
        required = [p for p in params if p.default is p.empty and p.kind not in variadic]
        if required:
            raise WorkerConfigurationError(f"WorkerHost: {name}={qualname} must take no arguments")
    return hook
