from __future__ import annotations

import enum


class TaskResultStatus(str, enum.Enum):
    """The statuses a worker may report. A ``str`` enum, so ``"COMPLETED"`` compares equal."""

    IN_PROGRESS = "IN_PROGRESS"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"
    COMPLETED = "COMPLETED"

    def __str__(self) -> str:
        return self.value
