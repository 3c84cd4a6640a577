"""The HTTP clients against the real Conductor 3.15.0 server: the paths a worker depends on."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from swift_conductor.clients import MetadataClient, TaskClient, WorkflowClient
from swift_conductor.configuration import Configuration
from swift_conductor.http.errors import ConductorApiError, ConflictError, NotFoundError
from swift_conductor.http.models import StartWorkflowRequest, TaskDef, TaskResult, WorkflowDef, WorkflowTask
from swift_conductor.http.models.task_result_status import TaskResultStatus


@dataclass
class Setup:
    tasks: TaskClient
    workflows: WorkflowClient
    metadata: MetadataClient
    task_a: str
    task_b: str
    workflow: str


@pytest.fixture
def setup(real_server_url: str, uid: str) -> Setup:
    config = Configuration(server_api_url=real_server_url)
    metadata = MetadataClient(config)
    task_a, task_b, workflow = f"a_{uid}", f"b_{uid}", f"wf_{uid}"
    metadata.register_task_defs([TaskDef(name=task_a, retry_count=0), TaskDef(name=task_b, retry_count=0)])
    metadata.upsert_workflow_defs(
        [
            WorkflowDef(
                name=workflow,
                tasks=[
                    WorkflowTask(name=task_a, task_reference_name="a", input_parameters={"x": "${workflow.input.x}"}),
                    WorkflowTask(name=task_b, task_reference_name="b", input_parameters={"y": "${a.output.y}"}),
                ],
                output_parameters={"result": "${b.output.z}"},
            )
        ]
    )
    return Setup(TaskClient(config), WorkflowClient(config), metadata, task_a, task_b, workflow)


def complete(s: Setup, task_id: str, workflow_id: str, status: TaskResultStatus, **fields: object) -> str:
    return s.tasks.update_task(
        TaskResult(task_id=task_id, workflow_instance_id=workflow_id, status=status, **fields)  # type: ignore[arg-type]
    )


def test_definitions_round_trip(setup: Setup) -> None:
    assert setup.metadata.get_task_def(setup.task_a).retry_count == 0
    wf = setup.metadata.get_workflow_def(setup.workflow)
    assert [t.name for t in wf.tasks] == [setup.task_a, setup.task_b]
    with pytest.raises(ConflictError) as err:
        setup.metadata.register_workflow_def(wf)
    assert err.value.status == 409
    setup.metadata.delete_task_def(setup.task_b)
    with pytest.raises(NotFoundError):
        setup.metadata.get_task_def(setup.task_b)


def test_two_tasks_wire_output_to_input_and_complete_the_workflow(setup: Setup) -> None:
    wid = setup.workflows.start_workflow(setup.workflow, {"x": 7}, correlation_id="corr-1")
    task = setup.tasks.poll(setup.task_a, worker_id="tester")
    assert task is not None and task.workflow_instance_id == wid
    assert task.input_data == {"x": 7} and task.worker_id == "tester"
    assert complete(setup, task.task_id, wid, TaskResultStatus.COMPLETED, output_data={"y": "why"}) == task.task_id
    second = setup.tasks.poll(setup.task_b)
    assert second is not None and second.input_data == {"y": "why"}
    complete(setup, second.task_id, wid, TaskResultStatus.COMPLETED, output_data={"z": 42})
    workflow = setup.workflows.get_workflow(wid)
    assert workflow.status == "COMPLETED"
    assert workflow.output == {"result": 42}
    assert workflow.correlation_id == "corr-1"
    assert [t.status for t in workflow.tasks] == ["COMPLETED", "COMPLETED"]


def test_terminal_failure_fails_the_workflow_with_the_reason(setup: Setup) -> None:
    wid = setup.workflows.start_workflow(setup.workflow, {"x": 1})
    first = setup.tasks.poll(setup.task_a)
    assert first is not None
    complete(setup, first.task_id, wid, TaskResultStatus.COMPLETED, output_data={"y": 1})
    second = setup.tasks.poll(setup.task_b)
    assert second is not None
    complete(
        setup,
        second.task_id,
        wid,
        TaskResultStatus.FAILED_WITH_TERMINAL_ERROR,
        reason_for_incompletion="card declined",
    )
    workflow = setup.workflows.get_workflow(wid)
    assert workflow.status == "FAILED"
    assert "card declined" in (workflow.reason_for_incompletion or "")
    failed = workflow.task_by_ref("b")
    assert failed is not None and failed.status == "FAILED_WITH_TERMINAL_ERROR"


def test_domain_routing_only_reaches_pollers_of_that_domain(setup: Setup) -> None:
    wid = setup.workflows.start(
        StartWorkflowRequest(name=setup.workflow, input={"x": 2}, task_to_domain={setup.task_a: "blue"})
    )
    assert setup.tasks.poll(setup.task_a) is None
    assert setup.tasks.poll(setup.task_a, domain="green") is None
    task = setup.tasks.poll(setup.task_a, domain="blue")
    assert task is not None and task.workflow_instance_id == wid and task.domain == "blue"
    plain = setup.workflows.start_workflow(setup.workflow, {"x": 3})
    assert setup.tasks.poll(setup.task_a, domain="blue") is None
    other = setup.tasks.poll(setup.task_a)
    assert other is not None and other.workflow_instance_id == plain


def test_batch_poll_returns_several_tasks(setup: Setup) -> None:
    ids = {setup.workflows.start_workflow(setup.workflow, {"x": i}) for i in range(3)}
    assert setup.tasks.queue_sizes(setup.task_a) == {setup.task_a: 3}
    got = setup.tasks.batch_poll(setup.task_a, count=3, timeout_ms=1000)
    assert {t.workflow_instance_id for t in got} == ids
    assert setup.tasks.batch_poll(setup.task_a, count=2, timeout_ms=100) == []


def test_in_progress_with_callback_brings_the_same_task_back(setup: Setup) -> None:
    wid = setup.workflows.start_workflow(setup.workflow, {"x": 1})
    task = setup.tasks.poll(setup.task_a)
    assert task is not None
    complete(
        setup,
        task.task_id,
        wid,
        TaskResultStatus.IN_PROGRESS,
        callback_after_seconds=1,
        output_data={"progress": 1},
    )
    assert setup.tasks.poll(setup.task_a) is None  # not before the callback delay
    deadline = time.monotonic() + 10
    again = None
    while again is None and time.monotonic() < deadline:
        again = setup.tasks.poll(setup.task_a)
        time.sleep(0.2)
    assert again is not None and again.task_id == task.task_id
    assert again.poll_count == 2


def test_updating_an_unknown_task_raises_the_typed_404(setup: Setup) -> None:
    wid = setup.workflows.start_workflow(setup.workflow, {"x": 1})
    with pytest.raises(NotFoundError) as err:
        complete(setup, "no-such-task", wid, TaskResultStatus.COMPLETED)
    assert err.value.status == 404 and not err.value.retryable
    assert "no-such-task" in err.value.message
    with pytest.raises(ConductorApiError) as err2:
        setup.workflows.get_workflow("no-such-workflow")
    assert err2.value.status == 404


def test_logs_and_task_lookup(setup: Setup) -> None:
    wid = setup.workflows.start_workflow(setup.workflow, {"x": 1})
    task = setup.tasks.poll(setup.task_a, worker_id="w1")
    assert task is not None
    setup.tasks.add_log(task.task_id, "hello")  # accepted; the real server drops it without indexing
    fetched = setup.tasks.get_task(task.task_id)
    assert fetched is not None and fetched.status == "IN_PROGRESS" and fetched.workflow_instance_id == wid
    assert setup.tasks.poll_data(setup.task_a)[0]["workerId"] == "w1"


def test_terminate_and_remove(setup: Setup) -> None:
    wid = setup.workflows.start_workflow(setup.workflow, {"x": 1})
    setup.workflows.terminate(wid, reason="test over")
    workflow = setup.workflows.get_workflow(wid, include_tasks=False)
    assert workflow.status == "TERMINATED"
    setup.workflows.remove(wid)
    with pytest.raises(NotFoundError):
        setup.workflows.get_workflow(wid)
