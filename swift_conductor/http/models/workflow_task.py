from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ._wire import WireModel, extra_field


@dataclass
class WorkflowTask(WireModel):
    """One step of a workflow definition. ``type`` is SIMPLE for worker tasks (CUSTOM on Swift 3.16)."""

    name: Optional[str] = None
    task_reference_name: Optional[str] = None
    type: Optional[str] = "SIMPLE"
    input_parameters: Dict[str, Any] = field(default_factory=dict)
    description: Optional[str] = None
    optional: Optional[bool] = None
    start_delay: Optional[int] = None
    extra: Dict[str, Any] = extra_field()
