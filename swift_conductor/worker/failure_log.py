"""A failed task's traceback in the local log, rate-limited per task type.

The traceback also travels to the server in the task's execution log, but not every server keeps those (Netflix
Conductor drops them when indexing is off), so the worker logs it too: at WARNING for a failure the server may
retry, at ERROR for a terminal one. At most :data:`TRACEBACKS_PER_WINDOW` tracebacks per task type are logged
in each :data:`WINDOW_S` window; later failures in the window are counted, and the first failure after it says
how many were not shown.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Dict, List, Optional

logger = logging.getLogger("swift_conductor.worker")

TRACEBACKS_PER_WINDOW = 5
WINDOW_S = 60.0

_lock = threading.Lock()
_windows: Dict[str, List[float]] = {}  # task type -> [window start, logged, suppressed]


def report(task_type: Optional[str], task_id: Optional[str], reason: str, trace: str, terminal: bool) -> None:
    kind = task_type or "?"
    now = time.monotonic()
    with _lock:
        window = _windows.get(kind)
        suppressed = 0
        if window is None or now - window[0] >= WINDOW_S:
            suppressed = int(window[2]) if window is not None else 0
            window = _windows[kind] = [now, 0, 0]
        show = window[1] < TRACEBACKS_PER_WINDOW
        if show:
            window[1] += 1
        else:
            window[2] += 1
    if suppressed:
        logger.warning(
            "%d more failure(s) of task type %s were not logged in the last %.0f s (at most %d tracebacks each)",
            suppressed, kind, WINDOW_S, TRACEBACKS_PER_WINDOW,
        )  # fmt: skip
    if show:
        level = logging.ERROR if terminal else logging.WARNING
        logger.log(
            level, "task %s (%s) failed%s: %s\n%s", task_id, kind, " terminally" if terminal else "", reason,
            trace.rstrip(),
        )  # fmt: skip
