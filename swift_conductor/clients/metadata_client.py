from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ..http.api_client import segment
from ..http.models import TaskDef, WorkflowDef
from .base import Client


class MetadataClient(Client):
    """Task and workflow definitions."""

    def register_task_defs(self, task_defs: Iterable[TaskDef]) -> None:
        """Create or replace task definitions (the server upserts the whole list)."""
        self.api.request(
            "POST", self.api.path("taskdefs"), json_body=[td.to_dict() for td in task_defs], idempotent=True
        )

    def update_task_def(self, task_def: TaskDef) -> None:
        self.api.request("PUT", self.api.path("taskdefs"), json_body=task_def.to_dict())

    def get_task_def(self, name: str) -> TaskDef:
        return TaskDef.from_dict(self.api.request("GET", f"{self.api.path('taskdefs')}/{segment(name)}"))

    def get_task_defs(self) -> List[TaskDef]:
        return [TaskDef.from_dict(d) for d in self.api.request("GET", self.api.path("taskdefs")) or ()]

    def delete_task_def(self, name: str) -> None:
        self.api.request("DELETE", f"{self.api.path('taskdefs')}/{segment(name)}")

    def register_workflow_def(self, workflow_def: WorkflowDef) -> None:
        """Create a new workflow definition; raises ConflictError (409) if that name and version exist."""
        self.api.request("POST", self.api.path("workflowdefs"), json_body=workflow_def.to_dict())

    def upsert_workflow_defs(self, workflow_defs: Iterable[WorkflowDef]) -> None:
        """Create or replace workflow definitions: the call for repeatable setup."""
        self.api.request("PUT", self.api.path("workflowdefs"), json_body=[wd.to_dict() for wd in workflow_defs])

    def get_workflow_def(self, name: str, version: Optional[int] = None) -> WorkflowDef:
        params: Dict[str, Any] = {"version": version} if version is not None else {}
        return WorkflowDef.from_dict(
            self.api.request("GET", f"{self.api.path('workflowdefs')}/{segment(name)}", params=params)
        )

    def delete_workflow_def(self, name: str, version: int) -> None:
        self.api.request("DELETE", f"{self.api.path('workflowdefs')}/{segment(name)}/{version}")
