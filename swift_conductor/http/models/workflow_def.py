from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._wire import WireModel, extra_field
from .workflow_task import WorkflowTask


@dataclass
class WorkflowDef(WireModel):
    """A workflow definition. ``schema_version`` must be 2 for Conductor 3.x."""

    name: Optional[str] = None
    version: Optional[int] = 1
    description: Optional[str] = None
    tasks: List[WorkflowTask] = field(default_factory=list)
    input_parameters: List[str] = field(default_factory=list)
    output_parameters: Dict[str, Any] = field(default_factory=dict)
    schema_version: Optional[int] = 2
    restartable: Optional[bool] = None
    owner_email: Optional[str] = None
    timeout_policy: Optional[str] = None
    timeout_seconds: Optional[int] = None
    failure_workflow: Optional[str] = None
    create_time: Optional[int] = None
    update_time: Optional[int] = None
    extra: Dict[str, Any] = extra_field()
