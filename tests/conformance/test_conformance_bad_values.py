"""Values of the wrong type or range: refused the way the real server refuses them, and nothing half-done."""

from __future__ import annotations

import json

from conformance_harness import Harness

from swift_conductor.http.models.task_result_status import TaskResultStatus

JSON = {"Content-Type": "application/json"}


def _polled(conductor: Harness) -> tuple:
    task = conductor.task_def("bv")
    wid = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    return wid, conductor.poll_one(task)


def _post_result(conductor: Harness, body: str) -> int:
    return int(conductor.raw.post("tasks", data=body.encode(), headers=JSON).status_code)


def test_a_bad_callback_is_refused_and_leaves_the_task_as_it_was(conductor: Harness) -> None:
    wid, task = _polled(conductor)
    for bad in ('"abc"', "[1]", "{}", "true", "1e400"):
        body = (
            f'{{"taskId": "{task.task_id}", "workflowInstanceId": "{wid}", "status": "IN_PROGRESS", '
            f'"outputData": {{"half": 1}}, "callbackAfterSeconds": {bad}}}'
        )
        assert _post_result(conductor, body) == 500, bad
        current = conductor.tasks.get_task(task.task_id or "")
        assert current is not None and current.status == "IN_PROGRESS" and current.output_data == {}, bad
    conductor.complete(task, {"ok": True})
    assert conductor.workflow_state(wid).status == "COMPLETED"


def test_a_numeric_string_callback_is_accepted(conductor: Harness) -> None:
    wid, task = _polled(conductor)
    body = {"taskId": task.task_id, "workflowInstanceId": wid, "status": "IN_PROGRESS", "callbackAfterSeconds": "1"}
    assert _post_result(conductor, json.dumps(body)) == 200
    current = conductor.tasks.get_task(task.task_id or "")
    assert current is not None and (current.status, current.callback_after_seconds) == ("SCHEDULED", 1)
    again = conductor.poll_until(task.task_type or "", timeout=10)
    assert again.task_id == task.task_id
    conductor.update(again, TaskResultStatus.COMPLETED)


def test_out_of_range_integers_in_a_task_def_are_refused(conductor: Harness) -> None:
    for bad in ("1e400", "99999999999"):
        body = f'[{{"name": "{conductor.name("big")}", "retryDelaySeconds": {bad}}}]'
        response = conductor.raw.post("metadata/taskdefs", data=body.encode(), headers=JSON)
        assert response.status_code == 500, bad
        assert "JSON parse error" in response.json()["message"]


def test_a_number_too_large_for_a_double_comes_back_as_the_string_infinity(conductor: Harness) -> None:
    wid, task = _polled(conductor)
    ids = f'"taskId": "{task.task_id}", "workflowInstanceId": "{wid}"'
    body = f'{{{ids}, "status": "COMPLETED", "outputData": {{"x": 1e400}}}}'
    assert _post_result(conductor, body) == 200
    raw = conductor.raw.get(f"workflow/{wid}").text  # strict JSON: a bare Infinity would not parse
    assert json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))["tasks"][0]["outputData"] == {
        "x": "Infinity"
    }


def test_an_inline_task_definition_gets_the_defaults(conductor: Harness) -> None:
    name = conductor.name("inline")
    definition = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "tasks": [
            {
                "name": name,
                "taskReferenceName": "t",
                "type": "SIMPLE",
                "taskDefinition": {"name": name, "retryCount": 0},
            }
        ],
    }
    assert conductor.raw.put("metadata/workflow", json=[definition]).status_code == 200
    wid = conductor.workflows.start_workflow(name, {})
    task = conductor.poll_one(name)
    assert task.response_timeout_seconds == 3600
    conductor.complete(task)
    assert conductor.workflow_state(wid).status == "COMPLETED"


def test_terminating_a_failed_workflow_relabels_it_terminated(conductor: Harness) -> None:
    wid, task = _polled(conductor)
    conductor.update(task, TaskResultStatus.FAILED_WITH_TERMINAL_ERROR, reason_for_incompletion="boom")
    assert conductor.workflow_state(wid).status == "FAILED"
    conductor.workflows.terminate(wid, reason="cleaned up")
    workflow = conductor.workflow_state(wid)
    assert (workflow.status, workflow.reason_for_incompletion) == ("TERMINATED", "cleaned up")
