"""Workers for the process-mode tests: a worker process imports them by module and name."""

from __future__ import annotations

import os

from swift_conductor_decorators import worker_task


@worker_task("testing_process_pid")
def report_pid(n: int) -> dict:
    return {"pid": os.getpid(), "n": n}
