"""Helpers for the system-task conformance tests: define a workflow from plain JSON, drive its worker tasks,
and read the task list the way the real servers show it."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from conformance_harness import Harness

from swift_conductor.http.models import TaskDef, TaskResult, WorkflowDef
from swift_conductor.http.models.task_result_status import TaskResultStatus
from tests.support.waiting import wait_for

Json = Dict[str, Any]
#: A worker: task inputData -> outputData (COMPLETED), or (status, outputData, reason).
Handler = Callable[[Json], Any]
TIMEOUT = 40.0  # the real servers evaluate JOIN, DO_WHILE and sub-workflows in background sweeps


def define(
    conductor: Harness,
    suffix: str,
    tasks: List[Json],
    output: Optional[Json] = None,
    workers: Iterable[str] = (),
    **fields: Any,
) -> str:
    """Register the worker task defs (no retries) and a workflow; returns the workflow name."""
    if workers:
        conductor.metadata.register_task_defs([TaskDef(name=w, retry_count=0) for w in workers])
    name = conductor.name(suffix)
    body: Json = {"name": name, "version": 1, "schemaVersion": 2, "tasks": tasks, **fields}
    if output is not None:
        body["outputParameters"] = output
    conductor.metadata.upsert_workflow_defs([WorkflowDef.from_dict(body)])
    return name


def simple(name: str, ref: str, **params: Any) -> Json:
    return {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": params}


def drive(
    conductor: Harness,
    workflow_id: str,
    workers: Mapping[str, Handler],
    until: Optional[Callable[[Json], bool]] = None,
    timeout: float = TIMEOUT,
) -> Json:
    """Serve ``workers`` (task type -> handler, also for sub-workflows' tasks) until ``until(workflow)``
    (default: the workflow ended)."""
    done = until or (lambda doc: doc["status"] != "RUNNING")

    def step() -> Optional[Json]:
        for task_type, handler in workers.items():
            task = conductor.tasks.poll(task_type, worker_id="conformance")
            if task is None:  # task types carry the test's unique prefix: any task polled here is ours
                continue
            status, output, reason = _outcome(handler(dict(task.input_data or {})))
            conductor.tasks.update_task(
                TaskResult(
                    task_id=task.task_id,
                    workflow_instance_id=task.workflow_instance_id,
                    status=status,
                    output_data=output,
                    reason_for_incompletion=reason,
                )
            )
        doc = conductor.raw_workflow(workflow_id)
        return doc if done(doc) else None

    return wait_for(step, timeout, f"workflow {workflow_id} to reach the expected state", interval=0.1)


def _outcome(result: Any) -> Tuple[TaskResultStatus, Json, Optional[str]]:
    if isinstance(result, tuple):
        status, output, reason = result
        return TaskResultStatus(status), dict(output), reason
    return TaskResultStatus.COMPLETED, dict(result or {}), None


def wait_until(conductor: Harness, workflow_id: str, check: Callable[[Json], bool], what: str) -> Json:
    """Wait (bounded) for the workflow document to satisfy ``check``: the real servers decide in the background."""

    def step() -> Optional[Json]:
        doc = conductor.raw_workflow(workflow_id)
        return doc if check(doc) else None

    return wait_for(step, TIMEOUT, what, interval=0.1)


def ended(doc: Json) -> bool:
    return doc["status"] != "RUNNING"


def rows(doc: Json) -> List[Tuple[str, str, str]]:
    """(referenceTaskName, taskType, status) per task, in the order the server lists them."""
    return [(t["referenceTaskName"], t["taskType"], t["status"]) for t in doc["tasks"]]


def by_ref(doc: Json) -> Dict[str, Json]:
    return {t["referenceTaskName"]: t for t in doc["tasks"]}


def update_system_task(
    conductor: Harness, task: Json, status: str = "COMPLETED", output: Optional[Json] = None
) -> None:
    """Complete a WAIT or HUMAN task through the task update API, as a person or another system would."""
    conductor.tasks.update_task(
        TaskResult(
            task_id=task["taskId"],
            workflow_instance_id=task["workflowInstanceId"],
            status=TaskResultStatus(status),
            output_data=dict(output or {}),
        )
    )
