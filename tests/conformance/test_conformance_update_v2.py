"""``POST /api/tasks/update-v2``: report a result and get the same worker's next task of that type in one call.

OSS 3.32 has it and the embedded server answers it the same way; Netflix 3.15 has no such route (a 500 "not
supported", the answer a client's detection must recognise).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
import requests
from conformance_harness import Harness

pytestmark = pytest.mark.timeout(60)
#: The servers that have update-v2; Netflix 3.15 is pinned by its own test.
with_v2 = pytest.mark.parametrize("server_kind", ["embedded", "oss"], indirect=True)


def _v2(conductor: Harness, task: Dict[str, Any], status: str, **fields: Any) -> requests.Response:
    body = {"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": status, **fields}
    return conductor.raw.post("tasks/update-v2", json=body)


def _poll(conductor: Harness, task_type: str, domain: Optional[str] = None) -> Dict[str, Any]:
    params = {"workerid": "w-poll"} if domain is None else {"workerid": "w-poll", "domain": domain}
    response = conductor.raw.get(f"tasks/poll/{task_type}", params=params)
    assert response.status_code == 200, f"expected a {task_type} task to be ready"
    return dict(response.json())


def _two_step(conductor: Harness) -> tuple:
    task = conductor.task_def("a")
    wf = conductor.workflow("wf", [(task, "a", {"x": "${workflow.input.x}"}), (task, "b", {"y": "${a.output.y}"})])
    return task, wf


@pytest.mark.parametrize("server_kind", ["netflix"], indirect=True)
def test_netflix_has_no_update_v2(conductor: Harness) -> None:
    response = conductor.raw.post("tasks/update-v2", json={"taskId": "t", "workflowInstanceId": "w"})
    assert response.status_code == 500
    assert response.json()["message"] == "Request method 'POST' not supported"


@pytest.fixture
def v2(conductor: Harness) -> Harness:
    return conductor


def _start_in_domain(conductor: Harness, workflow: str, workflow_input: Dict[str, Any], domain: Dict[str, str]) -> str:
    response = conductor.raw.post("workflow", json={"name": workflow, "input": workflow_input, "taskToDomain": domain})
    assert response.status_code == 200, response.text
    return response.text


@with_v2
def test_completed_returns_the_next_task_then_204(v2: Harness) -> None:
    task, wf = _two_step(v2)
    workflow_id = v2.workflows.start_workflow(wf, {"x": 1})
    first = _poll(v2, task)
    response = _v2(v2, first, "COMPLETED", outputData={"y": 7}, workerId="w-v2")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    following = response.json()  # one Task object, already handed out to the reporting worker
    assert isinstance(following, dict)
    assert (following["referenceTaskName"], following["workflowInstanceId"]) == ("b", workflow_id)
    assert (following["status"], following["workerId"], following["pollCount"]) == ("IN_PROGRESS", "w-v2", 1)
    assert following["inputData"] == {"y": 7}
    assert following.get("domain") is None
    last = _v2(v2, following, "COMPLETED", outputData={"z": 1}, workerId="w-v2")
    assert (last.status_code, last.content) == (204, b"")  # nothing else ready
    assert v2.workflow_state(workflow_id).status == "COMPLETED"


@with_v2
def test_the_next_task_may_come_from_another_workflow(v2: Harness) -> None:
    task = v2.task_def("a")
    wf = v2.single_task_workflow(task)
    first_id = v2.workflows.start_workflow(wf, {})
    first = _poll(v2, task)
    second_id = v2.workflows.start_workflow(wf, {})
    response = _v2(v2, first, "FAILED", reasonForIncompletion="boom")  # FAILED is final too; no workerId sent
    assert response.status_code == 200
    following = response.json()
    assert following["workflowInstanceId"] == second_id
    assert "workerId" not in following  # polled with the result's (absent) worker id
    assert v2.workflow_state(first_id).status == "FAILED"


@with_v2
def test_in_progress_and_lease_extension_return_no_task(v2: Harness) -> None:
    task = v2.task_def("a")
    wf = v2.single_task_workflow(task)
    v2.workflows.start_workflow(wf, {})
    first = _poll(v2, task)
    v2.workflows.start_workflow(wf, {})  # a task is ready, yet a non-final result brings none
    lease = _v2(v2, first, "IN_PROGRESS", extendLease=True, workerId="w-v2")
    assert (lease.status_code, lease.content) == (204, b"")
    later = _v2(v2, first, "IN_PROGRESS", callbackAfterSeconds=60, workerId="w-v2")
    assert (later.status_code, later.content) == (204, b"")
    assert v2.tasks.get_task(first["taskId"]).status == "SCHEDULED"  # type: ignore[union-attr]
    assert v2.tasks.queue_sizes(task) == {task: 2}


@with_v2
def test_the_next_task_comes_from_the_reported_task_domain(v2: Harness) -> None:
    task, wf = _two_step(v2)
    domain = v2.name("dom")
    in_domain = _start_in_domain(v2, wf, {"x": 1}, {task: domain})
    first = _poll(v2, task, domain)
    assert first["domain"] == domain
    v2.workflows.start_workflow(wf, {"x": 2})  # a task of no domain is ready as well
    response = _v2(v2, first, "COMPLETED", outputData={"y": 1}, workerId="w-v2")
    assert response.status_code == 200
    following = response.json()
    assert (following["domain"], following["workflowInstanceId"]) == (domain, in_domain)
    assert v2.tasks.queue_sizes(task) == {task: 1}


@with_v2
def test_a_repeated_final_result_still_hands_out_a_task(v2: Harness) -> None:
    task = v2.task_def("a")
    wf = v2.single_task_workflow(task)
    first_id = v2.workflows.start_workflow(wf, {})
    first = _poll(v2, task)
    assert _v2(v2, first, "COMPLETED", workerId="w-v2").status_code == 204
    second_id = v2.workflows.start_workflow(wf, {})
    again = _v2(v2, first, "COMPLETED", outputData={"ignored": True}, workerId="w-again")
    assert again.status_code == 200  # the update is ignored, but the poll that follows it is not
    assert (again.json()["workflowInstanceId"], again.json()["workerId"]) == (second_id, "w-again")
    assert v2.workflow_state(first_id).tasks[0].output_data == {}


@with_v2
def test_update_v2_errors(v2: Harness) -> None:
    task = v2.task_def("a")
    workflow_id = v2.workflows.start_workflow(v2.single_task_workflow(task), {})
    polled = _poll(v2, task)
    raw = v2.raw
    unknown_wf = raw.post(
        "tasks/update-v2", json={"taskId": "x", "workflowInstanceId": "nope-wf", "status": "COMPLETED"}
    )
    assert (unknown_wf.status_code, unknown_wf.json()["message"]) == (404, "No such workflow found by id: nope-wf")
    unknown_task = raw.post(
        "tasks/update-v2", json={"taskId": "nope-t", "workflowInstanceId": workflow_id, "status": "COMPLETED"}
    )
    assert (unknown_task.status_code, unknown_task.json()["message"]) == (404, "No such task found by id: nope-t")
    # Unlike POST /api/tasks (400 with validationErrors), a body without ids fails Spring's @Valid: a 500.
    missing = raw.post("tasks/update-v2", json={"status": "COMPLETED"})
    assert missing.status_code == 500
    message = missing.json()["message"]
    assert message.startswith("Validation failed for argument [0] in public ") and " with 2 errors: " in message
    assert "default message [Task ID cannot be null or empty]" in message
    assert "default message [Workflow Id cannot be null or empty]" in message
    one = raw.post("tasks/update-v2", json={"taskId": "x", "status": "COMPLETED"})
    assert one.status_code == 500 and "errors" not in one.json()["message"].split(":")[0]
    bad_json = raw.post("tasks/update-v2", data="{bad", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 500 and bad_json.json()["message"].startswith("JSON parse error")
    null_status = raw.post("tasks/update-v2", json={"taskId": polled["taskId"], "workflowInstanceId": workflow_id})
    assert null_status.status_code == 500
    assert v2.tasks.get_task(polled["taskId"]).status == "IN_PROGRESS"  # type: ignore[union-attr]
