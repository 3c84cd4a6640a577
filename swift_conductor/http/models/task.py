from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ._wire import WireModel, extra_field
from .workflow_task import WorkflowTask


@dataclass
class Task(WireModel):
    """A task as the server hands it to a worker (times are epoch milliseconds)."""

    task_id: Optional[str] = None
    task_type: Optional[str] = None
    task_def_name: Optional[str] = None
    reference_task_name: Optional[str] = None
    workflow_instance_id: Optional[str] = None
    workflow_type: Optional[str] = None
    correlation_id: Optional[str] = None
    domain: Optional[str] = None
    worker_id: Optional[str] = None
    status: Optional[str] = None
    input_data: Dict[str, Any] = field(default_factory=dict)
    output_data: Dict[str, Any] = field(default_factory=dict)
    reason_for_incompletion: Optional[str] = None
    retry_count: Optional[int] = None
    seq: Optional[int] = None
    poll_count: Optional[int] = None
    callback_after_seconds: Optional[int] = None
    response_timeout_seconds: Optional[int] = None
    scheduled_time: Optional[int] = None
    start_time: Optional[int] = None
    end_time: Optional[int] = None
    update_time: Optional[int] = None
    retried_task_id: Optional[str] = None
    workflow_task: Optional[WorkflowTask] = None
    iteration: Optional[int] = None
    sub_workflow_id: Optional[str] = None
    queue_wait_time: Optional[int] = None
    workflow_priority: Optional[int] = None
    extra: Dict[str, Any] = extra_field()
