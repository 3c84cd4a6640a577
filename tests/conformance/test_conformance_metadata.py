"""Task and workflow definitions: CRUD, defaults, validation and error shapes."""

from __future__ import annotations

import pytest
from conformance_harness import Harness

from swift_conductor.http.errors import BadRequestError, ConflictError, NotFoundError
from swift_conductor.http.models import TaskDef, WorkflowDef, WorkflowTask

pytestmark = pytest.mark.timeout(60)

ERROR_KEYS = {"status", "message", "instance", "retryable"}


def arg(server_kind: str, name: str) -> str:
    """A parameter's name in a validation path: OSS 3.32 is compiled without parameter names and says ``arg0``."""
    return "arg0" if server_kind == "oss" else name


def test_task_def_round_trip_with_defaults(conductor: Harness) -> None:
    name = conductor.task_def("td", retry_count=2, response_timeout_seconds=7)
    got = conductor.raw.get(f"metadata/taskdefs/{name}").json()
    assert got["name"] == name
    assert got["retryCount"] == 2
    assert got["responseTimeoutSeconds"] == 7
    # the server fills in the rest
    assert got["retryLogic"] == "FIXED"
    assert got["retryDelaySeconds"] == 60
    assert got["timeoutSeconds"] == 0
    assert got["timeoutPolicy"] == "TIME_OUT_WF"
    assert got["rateLimitFrequencyInSeconds"] == 1
    assert got["backoffScaleFactor"] == 1
    assert isinstance(got["createTime"], int)
    assert any(td.name == name for td in conductor.metadata.get_task_defs())


def test_task_def_post_upserts_and_put_updates(conductor: Harness) -> None:
    name = conductor.task_def("td", retry_count=1)
    conductor.metadata.register_task_defs([TaskDef(name=name, retry_count=4)])
    assert conductor.metadata.get_task_def(name).retry_count == 4
    conductor.metadata.update_task_def(TaskDef(name=name, retry_count=5, retry_logic="LINEAR_BACKOFF"))
    got = conductor.metadata.get_task_def(name)
    assert (got.retry_count, got.retry_logic) == (5, "LINEAR_BACKOFF")


def test_task_def_put_unknown_is_404(conductor: Harness) -> None:
    with pytest.raises(NotFoundError) as err:
        conductor.metadata.update_task_def(TaskDef(name=conductor.name("nope"), retry_count=1))
    assert err.value.message == f"No such task by name {conductor.name('nope')}"


def test_task_def_delete_then_unknown(conductor: Harness, server_kind: str) -> None:
    name = conductor.task_def("td")
    conductor.metadata.delete_task_def(name)
    with pytest.raises(NotFoundError) as err:
        conductor.metadata.get_task_def(name)
    assert err.value.message == f"No such taskType found by name: {name}"
    response = conductor.raw.delete(f"metadata/taskdefs/{name}")
    assert set(response.json()) == ERROR_KEYS
    if server_kind == "oss":  # the SQLite metadata store raises a plain error for an unknown name
        assert (response.status_code, response.json()["message"]) == (500, "No such task definition")
    else:
        assert response.status_code == 404
        assert response.json()["message"] == "Cannot remove the task - no such task definition"


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        (
            {"responseTimeoutSeconds": 50, "timeoutSeconds": 10},
            "[0]",
            "responseTimeoutSeconds: 50 must be less than timeoutSeconds: 10",
        ),
        (
            {"responseTimeoutSeconds": 0},
            "[0].responseTimeoutSeconds",
            "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second",
        ),
        ({"retryCount": -1}, "[0].retryCount", "must be >= 0"),
    ],
)
def test_task_def_validation_is_400(
    conductor: Harness, server_kind: str, fields: dict, path: str, message: str
) -> None:
    response = conductor.raw.post("metadata/taskdefs", json=[{"name": conductor.name("bad"), **fields}])
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation failed, check below errors for detail."
    assert body["retryable"] is False
    assert len(body["validationErrors"]) == 1
    assert body["validationErrors"][0]["path"] == f"registerTaskDef.{arg(server_kind, 'taskDefinitions')}{path}"
    assert message in body["validationErrors"][0]["message"]


def test_task_def_without_name_is_400(conductor: Harness, server_kind: str) -> None:
    response = conductor.raw.post("metadata/taskdefs", json=[{"retryCount": 1}])
    assert response.status_code == 400
    path = f"registerTaskDef.{arg(server_kind, 'taskDefinitions')}[0].name"
    assert response.json()["validationErrors"] == [{"path": path, "message": "TaskDef name cannot be null or empty"}]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},  # an object where a list is expected
        [{"name": "x", "retryCount": "abc"}],  # wrong type
        [{"name": "x", "retryLogic": "NOPE"}],  # unknown enum value
    ],
)
def test_task_def_malformed_is_500(conductor: Harness, body: object) -> None:
    response = conductor.raw.post("metadata/taskdefs", json=body)
    assert response.status_code == 500
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["message"].startswith("JSON parse error")


def _workflow_def(conductor: Harness, version: int = 1, **extra: object) -> WorkflowDef:
    task = conductor.task_def("t")
    return WorkflowDef(
        name=conductor.name("wf"),
        version=version,
        tasks=[WorkflowTask(name=task, task_reference_name="t", input_parameters={"x": "${workflow.input.x}"})],
        schema_version=2,
        **extra,  # type: ignore[arg-type]
    )


def test_workflow_def_post_then_409(conductor: Harness) -> None:
    wd = _workflow_def(conductor)
    conductor.metadata.register_workflow_def(wd)
    with pytest.raises(ConflictError) as err:
        conductor.metadata.register_workflow_def(wd)
    assert err.value.status == 409
    assert err.value.message == f"Workflow with {wd.name}.1 already exists!"


def test_workflow_def_post_with_overwrite(conductor: Harness, server_kind: str) -> None:
    wd = _workflow_def(conductor)
    first = conductor.raw.post("metadata/workflow", params={"overwrite": "true"}, json=wd.to_dict())
    assert (first.status_code, first.content) == (200, b"")
    changed = {**wd.to_dict(), "description": "second"}
    again = conductor.raw.post("metadata/workflow", params={"overwrite": "true"}, json=changed)
    stored = conductor.raw.get(f"metadata/workflow/{wd.name}", params={"version": 1}).json()
    if server_kind == "netflix":  # 3.15 has no such parameter: the usual 409
        assert again.status_code == 409
        assert again.json()["message"] == f"Workflow with {wd.name}.1 already exists!"
        assert "description" not in stored
    else:  # OSS 3.32 (what conductor-python sends by default) replaces the definition
        assert (again.status_code, again.content) == (200, b"")
        assert stored["description"] == "second"
    without = conductor.raw.post("metadata/workflow", params={"overwrite": "false"}, json=changed)
    assert without.status_code == 409


def test_workflow_def_get_has_defaults_and_versions(conductor: Harness) -> None:
    conductor.metadata.upsert_workflow_defs([_workflow_def(conductor, 1), _workflow_def(conductor, 2)])
    name = conductor.name("wf")
    latest = conductor.raw.get(f"metadata/workflow/{name}").json()
    assert latest["version"] == 2
    assert latest["schemaVersion"] == 2
    assert latest["restartable"] is True
    assert latest["timeoutPolicy"] == "ALERT_ONLY"
    assert latest["timeoutSeconds"] == 0
    wt = latest["tasks"][0]
    assert (wt["type"], wt["startDelay"], wt["optional"], wt["asyncComplete"]) == ("SIMPLE", 0, False, False)
    assert conductor.metadata.get_workflow_def(name, version=1).version == 1


def test_workflow_def_put_answers_bulk_result(conductor: Harness) -> None:
    wd = _workflow_def(conductor)
    response = conductor.raw.put("metadata/workflow", json=[wd.to_dict()])
    assert response.status_code == 200
    assert response.json() == {"bulkErrorResults": {}, "bulkSuccessfulResults": [wd.name]}
    # and again: PUT is an upsert
    assert conductor.raw.put("metadata/workflow", json=[wd.to_dict()]).status_code == 200


def test_workflow_def_unknown_and_delete(conductor: Harness, server_kind: str) -> None:
    name = conductor.name("wf")
    with pytest.raises(NotFoundError) as err:
        conductor.metadata.get_workflow_def(name)
    assert err.value.message == f"No such workflow found by name: {name}, version: null"
    conductor.metadata.upsert_workflow_defs([_workflow_def(conductor)])
    conductor.metadata.delete_workflow_def(name, 1)
    response = conductor.raw.delete(f"metadata/workflow/{name}/1")
    if server_kind == "oss":  # the SQLite metadata store raises a plain error for an unknown definition
        assert response.status_code == 500
        assert response.json()["message"] == f"No such workflow definition: {name} version: 1"
    else:
        assert response.status_code == 404
        assert response.json()["message"] == (
            f"Cannot remove the workflow - no such workflow definition: {name} version: 1"
        )


@pytest.mark.parametrize(
    ("change", "path_suffix", "message"),
    [
        ({"schemaVersion": 1}, ".schemaVersion", "workflowDef schemaVersion: 2 is only supported"),
        ({"tasks": []}, ".tasks", "WorkflowTask list cannot be empty"),
        ({"name": None}, ".name", "WorkflowDef name cannot be null or empty"),
        ({"tasks": [{"name": "x"}]}, ".tasks[0].taskReferenceName", "taskReferenceName name cannot be empty or null"),
        (
            {"tasks": [{"name": "x", "taskReferenceName": "r"}, {"name": "x", "taskReferenceName": "r"}]},
            "",
            "taskReferenceName: r should be unique across tasks",
        ),
        (
            {"tasks": [{"name": "x", "taskReferenceName": "r", "inputParameters": {"v": "${zz.output.y}"}}]},
            "",
            "taskReferenceName: zz for given task: x input value: v of input parameter: ${zz.output.y} is not defined",
        ),
    ],
)
def test_workflow_def_validation_is_400(
    conductor: Harness, server_kind: str, change: dict, path_suffix: str, message: str
) -> None:
    body = {
        "name": conductor.name("wf"),
        "version": 1,
        "schemaVersion": 2,
        "tasks": [{"name": conductor.name("t"), "taskReferenceName": "t"}],
    }
    body.update(change)
    if body["name"] is None:
        del body["name"]
    response = conductor.raw.post("metadata/workflow", json=body)
    assert response.status_code == 400, response.text
    errors = response.json()["validationErrors"]
    assert errors[0]["path"] == f"registerWorkflowDef.{arg(server_kind, 'workflowDef')}{path_suffix}"
    assert message in errors[0]["message"]
    # PUT validates the same way, under its own path
    put = conductor.raw.put("metadata/workflow", json=[body])
    assert put.status_code == 400
    assert put.json()["validationErrors"][0]["path"] == (
        f"updateWorkflowDef.{arg(server_kind, 'workflowDefList')}[0]{path_suffix}"
    )


def test_workflow_def_malformed_is_500(conductor: Harness) -> None:
    wd = _workflow_def(conductor).to_dict()
    assert conductor.raw.post("metadata/workflow", json=[wd]).status_code == 500  # list where one def is expected
    assert conductor.raw.put("metadata/workflow", json=wd).status_code == 500  # one def where a list is expected
    bad = conductor.raw.post("metadata/workflow", data="{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 500
    assert bad.json()["message"].startswith("JSON parse error")


def test_version_defaults_to_1(conductor: Harness) -> None:
    body = {
        "name": conductor.name("wf"),
        "schemaVersion": 2,
        "tasks": [{"name": conductor.name("t"), "taskReferenceName": "t"}],
    }
    assert conductor.raw.post("metadata/workflow", json=body).status_code == 200
    assert conductor.metadata.get_workflow_def(conductor.name("wf")).version == 1


def test_bad_request_error_class(conductor: Harness) -> None:
    with pytest.raises(BadRequestError):
        conductor.metadata.register_workflow_def(
            WorkflowDef(name=conductor.name("wf"), version=1, tasks=[], schema_version=2)
        )
