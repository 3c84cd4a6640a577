from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._wire import WireModel, extra_field
from .task import Task


@dataclass
class Workflow(WireModel):
    """A workflow execution as ``GET /api/workflow/{id}`` returns it."""

    workflow_id: Optional[str] = None
    workflow_name: Optional[str] = None
    workflow_version: Optional[int] = None
    status: Optional[str] = None
    correlation_id: Optional[str] = None
    input: Dict[str, Any] = field(default_factory=dict)
    output: Dict[str, Any] = field(default_factory=dict)
    tasks: List[Task] = field(default_factory=list)
    reason_for_incompletion: Optional[str] = None
    task_to_domain: Dict[str, str] = field(default_factory=dict)
    create_time: Optional[int] = None
    start_time: Optional[int] = None
    end_time: Optional[int] = None
    update_time: Optional[int] = None
    priority: Optional[int] = None
    extra: Dict[str, Any] = extra_field()

    def task_by_ref(self, reference_task_name: str) -> Optional[Task]:
        """The latest attempt of the task with this reference name (retries share it)."""
        found = [t for t in self.tasks if t.reference_task_name == reference_task_name]
        return found[-1] if found else None

    @property
    def is_terminal(self) -> bool:
        return self.status in ("COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
