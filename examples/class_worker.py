"""The README's class worker: subclass WorkerAbc, run it with WorkerHost.

python examples/class_worker.py [--server URL] [--serve]
"""

from __future__ import annotations

import sys

from _demo import parse_args, run_demo

from swift_conductor.automation.worker_host import WorkerHost
from swift_conductor.configuration import Configuration
from swift_conductor.http.models import Task, TaskDef, TaskResult, WorkflowDef, WorkflowTask
from swift_conductor.http.models.task_result_status import TaskResultStatus
from swift_conductor.worker.worker_interface import WorkerAbc


class SampleWorker(WorkerAbc):
    def execute(self, task: Task) -> TaskResult:
        task_result = self.get_task_result_from_task(task)
        task_result.status = TaskResultStatus.COMPLETED

        task_result.add_output_data("outputKey1", "value")
        task_result.add_output_data("oddEven", 1)
        task_result.add_output_data("mod", 4)

        return task_result

    def get_polling_interval_in_seconds(self) -> float:
        # poll every 500ms (only after a poll that found nothing)
        return 0.5


WORKFLOW = WorkflowDef(
    name="class_worker_example",
    tasks=[
        WorkflowTask(name="task_1", task_reference_name="t1"),
        WorkflowTask(name="task_2", task_reference_name="t2", input_parameters={"mod": "${t1.output.mod}"}),
    ],
    output_parameters={"first": "${t1.output}", "second_mod": "${t2.output.mod}"},
)


def make_host(configuration: Configuration) -> WorkerHost:
    workers = [
        SampleWorker(task_definition_name="task_1"),
        SampleWorker(task_definition_name="task_2"),
    ]
    return WorkerHost(workers, configuration)


if __name__ == "__main__":
    defs = [TaskDef(name="task_1", retry_count=0), TaskDef(name="task_2", retry_count=0)]
    sys.exit(run_demo(parse_args(__doc__ or ""), make_host, WORKFLOW, defs, lambda i: {}))
