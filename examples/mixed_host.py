"""One host for everything: decorated functions from another module plus hand-written class workers.

    python examples/mixed_host.py [--server URL] [--serve]

``WorkerHost.from_registry(modules=[...])`` imports the modules (their @worker_task functions register
themselves) and adds the class workers given.
"""

from __future__ import annotations

import sys

from _demo import parse_args, run_demo

from swift_conductor import (
    Configuration,
    Task,
    TaskDef,
    TaskResult,
    TaskResultStatus,
    WorkerAbc,
    WorkerHost,
    WorkflowDef,
    WorkflowTask,
)


class AuditWorker(WorkerAbc):
    """Polls two task types in turn."""

    def execute(self, task: Task) -> TaskResult:
        result = self.get_task_result_from_task(task)
        result.status = TaskResultStatus.COMPLETED
        result.add_output_data("audited", f"{task.task_def_name}:{task.input_data.get('value')}")
        return result


WORKFLOW = WorkflowDef(
    name="mixed_host_example",
    tasks=[
        WorkflowTask(
            name="mixed_audit_in", task_reference_name="audit_in", input_parameters={"value": "${workflow.input.n}"}
        ),
        WorkflowTask(name="mixed_square", task_reference_name="square", input_parameters={"n": "${workflow.input.n}"}),
        WorkflowTask(
            name="mixed_audit_out",
            task_reference_name="audit_out",
            input_parameters={"value": "${square.output.result}"},
        ),
    ],
    output_parameters={"square": "${square.output.result}", "audit": "${audit_out.output.audited}"},
)
TASK_DEFS = [TaskDef(name=t.name, retry_count=0) for t in WORKFLOW.tasks]


def make_host(configuration: Configuration) -> WorkerHost:
    return WorkerHost.from_registry(
        configuration,
        modules=["mixed_functions"],
        workers=[AuditWorker(["mixed_audit_in", "mixed_audit_out"], thread_count=2)],
    )


if __name__ == "__main__":
    sys.exit(run_demo(parse_args(__doc__ or ""), make_host, WORKFLOW, TASK_DEFS, lambda i: {"n": i + 2}))
