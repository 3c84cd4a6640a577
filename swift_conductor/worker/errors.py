"""What a worker function uses to steer its task's status: the errors (defined in :mod:`swift_conductor.errors`)
and the :class:`InProgress` return marker."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ..errors import NonRetryableError, TaskInputError, WorkerConfigurationError

__all__ = ["InProgress", "NonRetryableError", "TaskInputError", "WorkerConfigurationError"]


class InProgress:
    """Return this from a worker function to keep the task IN_PROGRESS and have it delivered again.

    The server hands the same task id back after ``callback_after_seconds``; ``output`` replaces the task's
    output (it is not merged), so it can carry a checkpoint. The ``Task`` parameter's ``poll_count`` tells how
    many times the task has been delivered.
    """

    def __init__(self, callback_after_seconds: int = 0, output: Optional[Mapping[str, Any]] = None) -> None:
        if isinstance(callback_after_seconds, bool) or not isinstance(callback_after_seconds, int):
            raise TypeError(f"InProgress: callback_after_seconds must be an int, got {callback_after_seconds!r}")
        if callback_after_seconds < 0:
            raise ValueError(f"InProgress: callback_after_seconds must be >= 0, got {callback_after_seconds}")
        self.callback_after_seconds = callback_after_seconds
        self.output: Dict[str, Any] = dict(output or {})

    def __repr__(self) -> str:
        return f"InProgress(callback_after_seconds={self.callback_after_seconds}, output={self.output!r})"
