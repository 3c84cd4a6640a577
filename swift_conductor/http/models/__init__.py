"""Wire models: dataclasses with snake_case attributes, camelCase on the wire (see ``_wire``)."""

from .start_workflow_request import StartWorkflowRequest
from .task import Task
from .task_def import TaskDef
from .task_exec_log import TaskExecLog
from .task_result import TaskResult
from .task_result_status import TaskResultStatus
from .workflow import Workflow
from .workflow_def import WorkflowDef
from .workflow_task import WorkflowTask

__all__ = [
    "StartWorkflowRequest",
    "Task",
    "TaskDef",
    "TaskExecLog",
    "TaskResult",
    "TaskResultStatus",
    "Workflow",
    "WorkflowDef",
    "WorkflowTask",
]
