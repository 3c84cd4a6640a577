from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ._wire import WireModel, extra_field


def now_millis() -> int:
    return int(time.time() * 1000)


@dataclass
class TaskExecLog(WireModel):
    """One log line attached to a task; ``created_time`` is epoch milliseconds, as the server expects."""

    log: Optional[str] = None
    task_id: Optional[str] = None
    created_time: Optional[int] = None
    extra: Dict[str, Any] = extra_field()
