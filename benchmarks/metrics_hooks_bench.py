"""CPU cost of the metrics hooks per task, in one process: the no-op recorder (metrics off) and the counting one.

    python benchmarks/metrics_hooks_bench.py

One task fires four hooks (poll, start, finish, update). Compare the result with the client CPU per task that
``worker_bench.py`` prints (about 1 ms on a small machine) to see what metrics add to a worker process.
"""

from __future__ import annotations

import time

from swift_conductor.automation.metrics import Recorder, SampleRecorder
from swift_conductor.http.models import Task, TaskResult
from swift_conductor.http.models.task_result_status import TaskResultStatus


def per_task_us(recorder: Recorder, n: int = 200_000) -> float:
    task = Task(task_id="t1", task_def_name="bench")
    result = TaskResult(task_id="t1")
    began = time.process_time()
    for _ in range(n):
        recorder.polled("bench", 1)
        recorder.task_started(task)
        recorder.task_finished(task, TaskResultStatus.COMPLETED, 0.001)
        recorder.update_done(result, 0.002)
    return (time.process_time() - began) / n * 1e6


if __name__ == "__main__":
    off = per_task_us(Recorder())
    on = per_task_us(SampleRecorder("bench"))
    print(f"metrics off (no-op recorder): {off:.2f} us per task")
    print(f"metrics on (counting recorder): {on:.2f} us per task; difference {on - off:.2f} us per task")
