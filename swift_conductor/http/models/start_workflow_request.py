from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from ._wire import WireModel, extra_field


@dataclass
class StartWorkflowRequest(WireModel):
    """Start a workflow with a correlation id and ``task_to_domain`` routing (task name -> domain)."""

    name: Optional[str] = None
    version: Optional[int] = None
    correlation_id: Optional[str] = None
    input: Dict[str, Any] = field(default_factory=dict)
    task_to_domain: Dict[str, str] = field(default_factory=dict)
    priority: Optional[int] = None
    external_input_payload_storage_path: Optional[str] = None
    extra: Dict[str, Any] = extra_field()
