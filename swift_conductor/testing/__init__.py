"""Testing toolkit: run workers and whole workflows from tests, with or without pytest.

With pytest, the plugin (:mod:`swift_conductor.testing.plugin`, loaded through the ``pytest11`` entry point)
gives the fixtures ``conductor_server``, ``conductor``, ``run_workers``, ``run_workflow``, ``start_workflow``
and ``unique_name``.
Without pytest, the same pieces are plain functions here. See docs/testing.md.

Names are imported on first use: loading the pytest plugin must not import the server or the clients.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "execute_task": "swift_conductor.testing.unit",
    "run_workers": "swift_conductor.testing.runner",
    "RunningWorkers": "swift_conductor.testing.runner",
    "WorkerError": "swift_conductor.testing.runner",
    "run_workflow": "swift_conductor.testing.workflows",
    "start_workflow": "swift_conductor.testing.workflows",
    "WorkflowRun": "swift_conductor.testing.workflows",
    "Conductor": "swift_conductor.testing.server",
    "ConductorTestServer": "swift_conductor.testing.server",
    "ServerUnavailable": "swift_conductor.testing.server",
    "unique_name": "swift_conductor.testing.server",
}

__all__ = [
    "Conductor",
    "ConductorTestServer",
    "RunningWorkers",
    "ServerUnavailable",
    "WorkerError",
    "WorkflowRun",
    "execute_task",
    "run_workers",
    "run_workflow",
    "start_workflow",
    "unique_name",
]

if TYPE_CHECKING:
    from .runner import RunningWorkers, WorkerError, run_workers
    from .server import Conductor, ConductorTestServer, ServerUnavailable, unique_name
    from .unit import execute_task
    from .workflows import WorkflowRun, run_workflow, start_workflow


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'swift_conductor.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
