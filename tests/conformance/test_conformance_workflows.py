"""Starting, reading, terminating, removing and deciding workflows; the workflow document's shape."""

from __future__ import annotations

import pytest
from conformance_harness import Harness

from swift_conductor.http.errors import ConflictError, NotFoundError
from swift_conductor.http.models import StartWorkflowRequest

pytestmark = pytest.mark.timeout(60)


def test_start_by_name_and_read_back(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    response = conductor.raw.post(f"workflow/{wf}", params={"correlationId": "corr-1"}, json={"x": 1})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    workflow_id = response.text
    doc = conductor.raw_workflow(workflow_id)
    assert doc["workflowId"] == workflow_id
    assert doc["workflowName"] == wf
    assert doc["workflowVersion"] == 1
    assert doc["status"] == "RUNNING"
    assert doc["input"] == {"x": 1}
    assert doc["output"] == {}
    assert doc["correlationId"] == "corr-1"
    assert doc["taskToDomain"] == {}
    assert doc["endTime"] == 0
    assert doc["createTime"] > 0 and doc["startTime"] > 0 and doc["updateTime"] > 0
    assert "reasonForIncompletion" not in doc
    assert doc["workflowDefinition"]["name"] == wf
    assert len(doc["tasks"]) == 1
    typed = conductor.workflows.get_workflow(workflow_id)
    assert (typed.status, typed.correlation_id, typed.tasks[0].reference_task_name) == ("RUNNING", "corr-1", "t")


def test_start_request_with_version_and_correlation(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    workflow_id = conductor.workflows.start(
        StartWorkflowRequest(name=wf, version=1, correlation_id="c2", input={"k": "v"})
    )
    state = conductor.workflows.get_workflow(workflow_id)
    assert (state.status, state.correlation_id, state.input) == ("RUNNING", "c2", {"k": "v"})


def test_include_tasks_false_gives_empty_list(conductor: Harness) -> None:
    wf = conductor.single_task_workflow(conductor.task_def("a"))
    workflow_id = conductor.workflows.start_workflow(wf, {})
    doc = conductor.raw.get(f"workflow/{workflow_id}", params={"includeTasks": "false"}).json()
    assert doc["tasks"] == []
    assert conductor.workflows.get_workflow(workflow_id, include_tasks=False).tasks == []


def test_unknown_workflow_is_404_everywhere(conductor: Harness) -> None:
    wid = conductor.name("no-such-id")
    expected = f"No such workflow found by id: {wid}"
    for method, path in [
        ("GET", f"workflow/{wid}"),
        ("DELETE", f"workflow/{wid}"),
        ("DELETE", f"workflow/{wid}/remove"),
        ("PUT", f"workflow/decide/{wid}"),
    ]:
        response = conductor.raw.request(method, path)
        assert response.status_code == 404, (method, path)
        body = response.json()
        assert body["message"] == expected
        assert body["retryable"] is False
        assert set(body) == {"status", "message", "instance", "retryable"}
    with pytest.raises(NotFoundError):
        conductor.workflows.get_workflow(wid)


def test_start_unknown_name_or_version_is_404(conductor: Harness) -> None:
    with pytest.raises(NotFoundError) as err:
        conductor.workflows.start_workflow(conductor.name("none"), {})
    assert err.value.message == f"No such workflow found by name: {conductor.name('none')}, version: null"
    wf = conductor.single_task_workflow(conductor.task_def("a"))
    with pytest.raises(NotFoundError) as err:
        conductor.workflows.start_workflow(wf, {}, version=9)
    assert err.value.message == f"No such workflow found by name: {wf}, version: 9"


def test_start_malformed(conductor: Harness, server_kind: str) -> None:
    wf = conductor.single_task_workflow(conductor.task_def("a"))
    no_body = conductor.raw.post(f"workflow/{wf}", headers={"Content-Type": "application/json"})
    assert no_body.status_code == 500
    assert "Required request body is missing" in no_body.json()["message"]
    not_a_map = conductor.raw.post(f"workflow/{wf}", json=[1, 2])
    assert not_a_map.status_code == 500
    bad_version = conductor.raw.post(f"workflow/{wf}", params={"version": "abc"}, json={})
    assert bad_version.status_code == 500
    no_name = conductor.raw.post("workflow", json={"input": {}})
    assert no_name.status_code == 400
    param = "arg0" if server_kind == "oss" else "startWorkflowRequest"  # OSS 3.32 has no parameter names
    assert no_name.json()["validationErrors"] == [
        {"path": f"startWorkflow.{param}.name", "message": "Workflow name cannot be null or empty"}
    ]


def test_terminate_running_cancels_tasks(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.workflow("wf", [(task, "t", {})], {"o": "${t.output}"})
    workflow_id = conductor.workflows.start_workflow(wf, {})
    conductor.workflows.terminate(workflow_id, reason="enough")
    doc = conductor.raw_workflow(workflow_id)
    assert doc["status"] == "TERMINATED"
    assert doc["reasonForIncompletion"] == "enough"
    assert doc["endTime"] > 0
    assert [t["status"] for t in doc["tasks"]] == ["CANCELED"]
    assert doc["output"] == {"o": {}}
    assert conductor.tasks.poll(task) is None
    assert conductor.tasks.queue_sizes(task) == {task: 0}
    # terminating again is a quiet no-op, not an error
    assert conductor.raw.delete(f"workflow/{workflow_id}").status_code == 200


def test_terminate_completed_is_409(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    workflow_id = conductor.workflows.start_workflow(wf, {})
    conductor.complete(conductor.poll_one(task))
    with pytest.raises(ConflictError) as err:
        conductor.workflows.terminate(workflow_id)
    assert err.value.message == "Cannot terminate a COMPLETED workflow."


def test_remove_finished(conductor: Harness, server_kind: str) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    workflow_id = conductor.workflows.start_workflow(wf, {})
    polled = conductor.poll_one(task)
    conductor.complete(polled)
    conductor.workflows.remove(workflow_id)
    with pytest.raises(NotFoundError):
        conductor.workflows.get_workflow(workflow_id)
    if server_kind == "oss":  # an unknown task is a 404 on OSS 3.32, an empty 204 elsewhere
        with pytest.raises(NotFoundError):
            conductor.tasks.get_task(polled.task_id or "")
    else:
        assert conductor.tasks.get_task(polled.task_id or "") is None


def test_remove_running_is_400(conductor: Harness, server_kind: str) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    workflow_id = conductor.workflows.start_workflow(wf, {})
    response = conductor.raw.delete(f"workflow/{workflow_id}/remove")
    assert response.status_code == 400
    assert response.json()["message"] == f"Cannot archive workflow: {workflow_id} with status: RUNNING"
    if server_kind == "netflix":  # 3.15 deletes it all the same; its task is gone too
        assert conductor.raw.get(f"workflow/{workflow_id}").status_code == 404
        assert conductor.tasks.poll(task) is None
    else:  # OSS 3.32 and the embedded server refuse and keep it: it runs on
        assert conductor.workflows.get_workflow(workflow_id).status == "RUNNING"
        polled = conductor.poll_one(task)
        conductor.complete(polled)
        assert conductor.workflows.get_workflow(workflow_id).status == "COMPLETED"


def test_decide_known_workflow_is_200(conductor: Harness) -> None:
    wf = conductor.single_task_workflow(conductor.task_def("a"))
    workflow_id = conductor.workflows.start_workflow(wf, {})
    conductor.workflows.decide(workflow_id)
    assert conductor.workflows.get_workflow(workflow_id).status == "RUNNING"
