"""swift-conductor-client: write Conductor task workers in Python.

The public face. Names are imported on first use, so ``import swift_conductor.http.models`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

_EXPORTS = {
    "Configuration": "swift_conductor.configuration",
    "Task": "swift_conductor.http.models",
    "TaskResult": "swift_conductor.http.models",
    "TaskResultStatus": "swift_conductor.http.models",
    "TaskExecLog": "swift_conductor.http.models",
    "TaskDef": "swift_conductor.http.models",
    "WorkflowDef": "swift_conductor.http.models",
    "WorkflowTask": "swift_conductor.http.models",
    "StartWorkflowRequest": "swift_conductor.http.models",
    "Workflow": "swift_conductor.http.models",
    "TaskClient": "swift_conductor.clients",
    "MetadataClient": "swift_conductor.clients",
    "WorkflowClient": "swift_conductor.clients",
    "WorkerAbc": "swift_conductor.worker.worker_interface",
    "Worker": "swift_conductor.worker.worker",
    "InProgress": "swift_conductor.worker.errors",
    "ConductorError": "swift_conductor.errors",
    "ConductorConnectionError": "swift_conductor.errors",
    "ConductorApiError": "swift_conductor.errors",
    "InvalidResponseError": "swift_conductor.errors",
    "NonRetryableError": "swift_conductor.errors",
    "TaskInputError": "swift_conductor.errors",
    "WorkerConfigurationError": "swift_conductor.errors",
    "WorkerOptions": "swift_conductor.worker.options",
    "execute_task": "swift_conductor.worker.execution",
    "WorkerHost": "swift_conductor.automation.worker_host",
    "TaskContext": "swift_conductor.worker.context",
    "current_task": "swift_conductor.worker.context",
}

__all__ = [
    "ConductorApiError",
    "ConductorConnectionError",
    "ConductorError",
    "Configuration",
    "InProgress",
    "InvalidResponseError",
    "MetadataClient",
    "NonRetryableError",
    "StartWorkflowRequest",
    "Task",
    "TaskClient",
    "TaskContext",
    "TaskDef",
    "TaskExecLog",
    "TaskInputError",
    "TaskResult",
    "TaskResultStatus",
    "Worker",
    "WorkerAbc",
    "WorkerConfigurationError",
    "WorkerHost",
    "WorkerOptions",
    "Workflow",
    "WorkflowClient",
    "WorkflowDef",
    "WorkflowTask",
    "current_task",
    "execute_task",
]

if TYPE_CHECKING:
    from .automation.worker_host import WorkerHost
    from .clients import MetadataClient, TaskClient, WorkflowClient
    from .configuration import Configuration
    from .errors import (
        ConductorApiError,
        ConductorConnectionError,
        ConductorError,
        InvalidResponseError,
        NonRetryableError,
        TaskInputError,
        WorkerConfigurationError,
    )
    from .http.models import (
        StartWorkflowRequest,
        Task,
        TaskDef,
        TaskExecLog,
        TaskResult,
        TaskResultStatus,
        Workflow,
        WorkflowDef,
        WorkflowTask,
    )
    from .worker.context import TaskContext, current_task
    from .worker.errors import InProgress
    from .worker.execution import execute_task
    from .worker.options import WorkerOptions
    from .worker.worker import Worker
    from .worker.worker_interface import WorkerAbc


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'swift_conductor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
