from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._wire import WireModel, extra_field


@dataclass
class TaskDef(WireModel):
    """A task definition: retries, timeouts and rate limits the server applies to a task type.

    Unset fields take the server's defaults (retryCount 3, retryDelaySeconds 60, responseTimeoutSeconds 3600).
    """

    name: Optional[str] = None
    description: Optional[str] = None
    retry_count: Optional[int] = None
    retry_logic: Optional[str] = None
    retry_delay_seconds: Optional[int] = None
    backoff_scale_factor: Optional[int] = None
    timeout_seconds: Optional[int] = None
    timeout_policy: Optional[str] = None
    response_timeout_seconds: Optional[int] = None
    poll_timeout_seconds: Optional[int] = None
    concurrent_exec_limit: Optional[int] = None
    rate_limit_per_frequency: Optional[int] = None
    rate_limit_frequency_in_seconds: Optional[int] = None
    input_keys: List[str] = field(default_factory=list)
    output_keys: List[str] = field(default_factory=list)
    owner_email: Optional[str] = None
    owner_app: Optional[str] = None
    create_time: Optional[int] = None
    update_time: Optional[int] = None
    extra: Dict[str, Any] = extra_field()
