"""Wire models: camelCase JSON in the shapes the server sends, snake_case attributes, lossless round trips."""

from __future__ import annotations

import time

import pytest

from swift_conductor.http.models import (
    StartWorkflowRequest,
    Task,
    TaskDef,
    TaskExecLog,
    TaskResult,
    Workflow,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor.http.models.task_result_status import TaskResultStatus

TASK_JSON = {
    "taskType": "task_a",
    "status": "IN_PROGRESS",
    "inputData": {"x": 1, "nested": {"k": [1, 2]}},
    "referenceTaskName": "a",
    "retryCount": 0,
    "seq": 1,
    "pollCount": 1,
    "taskDefName": "task_a",
    "scheduledTime": 1700000000000,
    "startTime": 1700000000100,
    "endTime": 0,
    "updateTime": 1700000000100,
    "startDelayInSeconds": 0,
    "retried": False,
    "executed": False,
    "callbackFromWorker": True,
    "responseTimeoutSeconds": 3600,
    "workflowInstanceId": "wf-1",
    "workflowType": "two_step",
    "taskId": "t-1",
    "callbackAfterSeconds": 0,
    "workerId": "host-1",
    "outputData": {},
    "workflowTask": {
        "name": "task_a",
        "taskReferenceName": "a",
        "inputParameters": {"x": "${workflow.input.x}"},
        "type": "SIMPLE",
        "startDelay": 0,
        "optional": False,
        "asyncComplete": False,
    },
    "domain": "blue",
    "queueWaitTime": 100,
    "taskDefinition": {"name": "task_a", "retryCount": 0},
}


def test_task_from_server_json_maps_camel_case_to_snake_case() -> None:
    task = Task.from_dict(TASK_JSON)
    assert task.task_id == "t-1"
    assert task.workflow_instance_id == "wf-1"
    assert task.task_def_name == "task_a"
    assert task.reference_task_name == "a"
    assert task.input_data == {"x": 1, "nested": {"k": [1, 2]}}
    assert task.response_timeout_seconds == 3600
    assert task.domain == "blue"
    assert isinstance(task.workflow_task, WorkflowTask)
    assert task.workflow_task.task_reference_name == "a"
    assert task.workflow_task.input_parameters == {"x": "${workflow.input.x}"}


def test_unknown_fields_are_tolerated_and_kept_for_round_trips() -> None:
    task = Task.from_dict(TASK_JSON)
    assert task.extra["taskDefinition"] == {"name": "task_a", "retryCount": 0}
    assert task.workflow_task is not None and task.workflow_task.extra == {"asyncComplete": False}
    assert task.to_dict() == TASK_JSON


def test_null_fields_are_omitted_on_the_wire() -> None:
    assert Task.from_dict({"taskId": "t", "domain": None}).to_dict() == {
        "taskId": "t",
        "inputData": {},
        "outputData": {},
    }


def test_task_result_wire_shape() -> None:
    result = TaskResult(task_id="t-1", workflow_instance_id="wf-1", status=TaskResultStatus.COMPLETED)
    result.add_output_data("y", 2).add_output_data("z", [1])
    result.callback_after_seconds = 5
    result.worker_id = "w"
    assert result.to_dict() == {
        "taskId": "t-1",
        "workflowInstanceId": "wf-1",
        "status": "COMPLETED",
        "outputData": {"y": 2, "z": [1]},
        "callbackAfterSeconds": 5,
        "workerId": "w",
        "logs": [],
    }


@pytest.mark.parametrize("given", ["FAILED_WITH_TERMINAL_ERROR", TaskResultStatus.FAILED_WITH_TERMINAL_ERROR])
def test_status_accepts_the_enum_or_its_name(given: object) -> None:
    result = TaskResult(task_id="t", workflow_instance_id="w", status=given)  # type: ignore[arg-type]
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    result.status = "IN_PROGRESS"
    assert result.status is TaskResultStatus.IN_PROGRESS
    assert result.to_dict()["status"] == "IN_PROGRESS"


def test_bad_status_names_the_field_and_the_value() -> None:
    with pytest.raises(ValueError, match=r"TaskResult.status .*'DONE'"):
        TaskResult(status="DONE")


def test_log_uses_epoch_milliseconds() -> None:
    before = int(time.time() * 1000)
    result = TaskResult(task_id="t-1", workflow_instance_id="w")
    result.log("step one")
    after = int(time.time() * 1000)
    (entry,) = result.logs
    assert entry.log == "step one" and entry.task_id == "t-1"
    assert entry.created_time is not None and before <= entry.created_time <= after
    assert result.to_dict()["logs"] == [{"log": "step one", "taskId": "t-1", "createdTime": entry.created_time}]
    assert TaskExecLog.from_dict(result.to_dict()["logs"][0]) == entry


def test_workflow_def_round_trip_of_the_sample_definition() -> None:
    sample = {
        "name": "two_step",
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "dev@example.com",
        "tasks": [
            {
                "name": "task_a",
                "taskReferenceName": "a",
                "type": "SIMPLE",
                "inputParameters": {"x": "${workflow.input.x}"},
            },
            {
                "name": "task_b",
                "taskReferenceName": "b",
                "type": "SIMPLE",
                "inputParameters": {"y": "${a.output.y}"},
            },
        ],
        "outputParameters": {"result": "${b.output.z}"},
    }
    wf = WorkflowDef.from_dict(sample)
    assert [t.task_reference_name for t in wf.tasks] == ["a", "b"]
    assert wf.owner_email == "dev@example.com"
    encoded = wf.to_dict()
    assert encoded.pop("inputParameters") == []
    assert encoded == sample


def test_workflow_from_server_json() -> None:
    data = {
        "workflowId": "wf-1",
        "workflowName": "two_step",
        "workflowVersion": 1,
        "status": "FAILED",
        "input": {"x": 1},
        "output": {},
        "reasonForIncompletion": "boom",
        "tasks": [TASK_JSON, {**TASK_JSON, "taskId": "t-2", "status": "COMPLETED"}],
        "ownerApp": "x",
    }
    wf = Workflow.from_dict(data)
    assert wf.is_terminal and wf.reason_for_incompletion == "boom"
    assert [t.task_id for t in wf.tasks] == ["t-1", "t-2"]
    assert wf.task_by_ref("a") is wf.tasks[1]
    assert wf.extra == {"ownerApp": "x"}


def test_task_def_and_start_request_wire_names() -> None:
    td = TaskDef(name="a", retry_count=0, retry_delay_seconds=1, retry_logic="FIXED", response_timeout_seconds=5)
    assert td.to_dict() == {
        "name": "a",
        "retryCount": 0,
        "retryDelaySeconds": 1,
        "retryLogic": "FIXED",
        "responseTimeoutSeconds": 5,
        "inputKeys": [],
        "outputKeys": [],
    }
    req = StartWorkflowRequest(name="two_step", correlation_id="c", input={"x": 1}, task_to_domain={"task_a": "d"})
    assert req.to_dict() == {
        "name": "two_step",
        "correlationId": "c",
        "input": {"x": 1},
        "taskToDomain": {"task_a": "d"},
    }


def test_from_dict_rejects_a_non_object_with_the_model_name() -> None:
    with pytest.raises(TypeError, match="Task expects a JSON object"):
        Task.from_dict(["not", "a", "task"])  # type: ignore[arg-type]
