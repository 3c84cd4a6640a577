"""Polling and updating tasks: the Task document, COMPLETED flows, update errors, logs, lookups."""

from __future__ import annotations

import pytest
from conformance_harness import Harness

from swift_conductor.http.errors import NotFoundError
from swift_conductor.http.models import TaskExecLog, TaskResult
from swift_conductor.http.models.task_result_status import TaskResultStatus

pytestmark = pytest.mark.timeout(60)


def test_polled_task_document(conductor: Harness) -> None:
    task = conductor.task_def("a", response_timeout_seconds=30)
    wf = conductor.single_task_workflow(task, params={"x": "${workflow.input.x}"})
    workflow_id = conductor.workflows.start_workflow(wf, {"x": 5}, correlation_id="cor")
    response = conductor.raw.get(f"tasks/poll/{task}", params={"workerid": "w-1"})
    assert response.status_code == 200
    doc = response.json()
    assert doc["taskType"] == task
    assert doc["taskDefName"] == task
    assert doc["referenceTaskName"] == "t"
    assert doc["workflowInstanceId"] == workflow_id
    assert doc["workflowType"] == wf
    assert doc["correlationId"] == "cor"
    assert doc["workerId"] == "w-1"
    assert doc["status"] == "IN_PROGRESS"
    assert doc["inputData"] == {"x": 5}
    assert doc["outputData"] == {}
    assert (doc["retryCount"], doc["seq"], doc["pollCount"], doc["callbackAfterSeconds"]) == (0, 1, 1, 0)
    assert doc["responseTimeoutSeconds"] == 30
    assert doc["scheduledTime"] > 0 and doc["startTime"] >= doc["scheduledTime"] and doc["endTime"] == 0
    assert doc["updateTime"] >= doc["startTime"]
    assert doc["queueWaitTime"] == doc["startTime"] - doc["scheduledTime"]
    for absent in ("domain", "retriedTaskId", "reasonForIncompletion"):
        assert absent not in doc
    assert doc["workflowTask"]["taskReferenceName"] == "t"
    assert doc["workflowTask"]["taskDefinition"]["name"] == task
    assert doc["taskDefinition"]["responseTimeoutSeconds"] == 30


def test_scheduled_task_before_poll(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    workflow_id = conductor.workflows.start_workflow(wf, {})
    (doc,) = conductor.raw_tasks(workflow_id)
    assert doc["status"] == "SCHEDULED"
    assert (doc["startTime"], doc["endTime"], doc["updateTime"], doc["pollCount"]) == (0, 0, 0, 0)
    assert "workerId" not in doc


def test_two_step_workflow_completes_with_output(conductor: Harness) -> None:
    a, b = conductor.task_def("a"), conductor.task_def("b")
    wf = conductor.workflow(
        "wf",
        [(a, "a", {"x": "${workflow.input.x}"}), (b, "b", {"y": "${a.output.y}"})],
        {"result": "${b.output.z}"},
    )
    workflow_id = conductor.workflows.start_workflow(wf, {"x": 1})
    first = conductor.poll_one(a, worker_id="w")
    assert first.input_data == {"x": 1}
    assert conductor.tasks.poll(b) is None  # the second task is not scheduled yet
    assert conductor.complete(first, {"y": 2}) == first.task_id
    second = conductor.poll_one(b)  # scheduled inside the update call: pollable at once
    assert second.input_data == {"y": 2}
    conductor.complete(second, {"z": 3})
    state = conductor.workflow_state(workflow_id)  # finished inside the update call
    assert state.status == "COMPLETED"
    assert state.output == {"result": 3}
    assert state.end_time and state.end_time > 0
    assert [t.status for t in state.tasks] == ["COMPLETED", "COMPLETED"]
    done = conductor.raw_tasks(workflow_id)[0]
    assert done["endTime"] >= done["startTime"] and done["outputData"] == {"y": 2}


def test_without_output_parameters_output_is_last_task_output(conductor: Harness) -> None:
    a, b = conductor.task_def("a"), conductor.task_def("b")
    wf = conductor.workflow("wf", [(a, "a", {}), (b, "b", {})])
    workflow_id = conductor.workflows.start_workflow(wf, {})
    conductor.complete(conductor.poll_one(a), {"r": 1})
    conductor.complete(conductor.poll_one(b), {"r": 2})
    assert conductor.workflow_state(workflow_id).output == {"r": 2}


def test_update_answers_text_plain_task_id(conductor: Harness) -> None:
    task = conductor.task_def("a")
    conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    response = conductor.raw.post(
        "tasks",
        json={"taskId": polled.task_id, "workflowInstanceId": polled.workflow_instance_id, "status": "COMPLETED"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == polled.task_id


def test_update_errors(conductor: Harness, server_kind: str) -> None:
    task = conductor.task_def("a")
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    raw = conductor.raw
    unknown_wf = raw.post("tasks", json={"taskId": "x", "workflowInstanceId": "nope-wf", "status": "COMPLETED"})
    assert unknown_wf.status_code == 404
    assert unknown_wf.json()["message"] == "No such workflow found by id: nope-wf"
    unknown_task = raw.post(
        "tasks", json={"taskId": "nope-t", "workflowInstanceId": workflow_id, "status": "COMPLETED"}
    )
    assert unknown_task.status_code == 404
    assert unknown_task.json()["message"] == "No such task found by id: nope-t"
    missing = raw.post("tasks", json={"status": "COMPLETED"})
    assert missing.status_code == 400
    # the real server lists violations in no fixed order
    param = "arg0" if server_kind == "oss" else "taskResult"  # OSS 3.32 is compiled without parameter names
    assert sorted(missing.json()["validationErrors"], key=lambda e: e["path"]) == [
        {"path": f"updateTask.{param}.taskId", "message": "Task ID cannot be null or empty"},
        {"path": f"updateTask.{param}.workflowInstanceId", "message": "Workflow Id cannot be null or empty"},
    ]
    bad_json = raw.post("tasks", data="{bad", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 500
    assert bad_json.json()["message"].startswith("JSON parse error")
    null_status = raw.post("tasks", json={"taskId": polled.task_id, "workflowInstanceId": workflow_id})
    assert null_status.status_code == 500
    bad_status = raw.post("tasks", json={"taskId": polled.task_id, "workflowInstanceId": workflow_id, "status": "DONE"})
    assert bad_status.status_code == 500
    with pytest.raises(NotFoundError):
        conductor.tasks.update_task(
            TaskResult(task_id="x", workflow_instance_id="nope-wf", status=TaskResultStatus.COMPLETED)
        )
    # none of that changed the task
    assert conductor.tasks.get_task(polled.task_id or "").status == "IN_PROGRESS"  # type: ignore[union-attr]


def test_updates_to_finished_tasks_are_ignored(conductor: Harness) -> None:
    task = conductor.task_def("a")
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    conductor.complete(polled, {"v": 1})
    assert conductor.update(polled, TaskResultStatus.FAILED, output_data={"v": 2}) == polled.task_id
    state = conductor.workflow_state(workflow_id)
    assert state.status == "COMPLETED"
    assert state.tasks[0].status == "COMPLETED"
    assert state.tasks[0].output_data == {"v": 1}


def test_get_task(conductor: Harness, server_kind: str) -> None:
    task = conductor.task_def("a")
    conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    got = conductor.tasks.get_task(polled.task_id or "")
    assert got is not None and got.task_id == polled.task_id and got.status == "IN_PROGRESS"
    nope = conductor.name("nope")
    unknown = conductor.raw.get(f"tasks/{nope}")
    if server_kind == "oss":
        assert unknown.status_code == 404
        assert unknown.json()["message"] == f"Task not found for taskId: {nope}"
        with pytest.raises(NotFoundError):
            conductor.tasks.get_task(nope)
    else:  # Netflix 3.15 and the embedded server: an empty 204
        assert unknown.status_code == 204
        assert unknown.content == b""
        assert conductor.tasks.get_task(nope) is None


def test_logs_are_accepted(conductor: Harness, server_kind: str) -> None:
    task = conductor.task_def("a")
    conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    tid = polled.task_id or ""
    conductor.tasks.add_log(tid, "raw line")
    conductor.update(
        polled, TaskResultStatus.COMPLETED, logs=[TaskExecLog(log="in result", task_id=tid, created_time=123)]
    )
    response = conductor.raw.post(f"tasks/{tid}/log", data="no content type")
    assert response.status_code == 200
    logs = conductor.tasks.get_task_logs(tid)
    if server_kind == "netflix":  # started with indexing off, 3.15 drops logs
        assert logs == []
    else:  # OSS 3.32 (SQLite index) and the embedded server keep them, oldest createdTime first
        assert [entry.log for entry in logs] == ["in result", "raw line", "no content type"]
        assert logs[0].created_time == 123
        assert all(entry.task_id == tid for entry in logs)


def test_single_poll_empty_is_204(conductor: Harness) -> None:
    task = conductor.task_def("a")
    response = conductor.raw.get(f"tasks/poll/{task}")
    assert response.status_code == 204
    assert response.content == b""
    assert conductor.tasks.poll(task) is None


def test_batch_poll(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    ids = {conductor.workflows.start_workflow(wf, {"i": i}) for i in range(3)}
    got = conductor.tasks.batch_poll(task, count=2, timeout_ms=100, worker_id="bw")
    assert len(got) == 2
    got += conductor.tasks.batch_poll(task, count=5, timeout_ms=100)
    assert {t.workflow_instance_id for t in got} == ids
    assert all(t.status == "IN_PROGRESS" for t in got)
    empty = conductor.raw.get(f"tasks/poll/batch/{task}", params={"count": 2, "timeout": 100})
    assert (empty.status_code, empty.json()) == (200, [])


def test_batch_poll_parameters(conductor: Harness) -> None:
    task = conductor.task_def("a")
    too_long = conductor.raw.get(f"tasks/poll/batch/{task}", params={"timeout": 5001})
    assert too_long.status_code == 400
    assert too_long.json()["message"] == "Long Poll Timeout value cannot be more than 5 seconds"
    bad = conductor.raw.get(f"tasks/poll/batch/{task}", params={"timeout": "abc"})
    assert bad.status_code == 500
    for params in ({"count": 0}, {"timeout": -1}, {}):
        response = conductor.raw.get(f"tasks/poll/batch/{task}", params=params)
        assert (response.status_code, response.json()) == (200, [])
