"""System tasks: what only the embedded server can show (the optional extra, time control over WAIT)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from typing import Any, Dict, Iterator

import pytest
import requests

from swift_conductor.devserver import EmbeddedServer
from tests.conftest import subprocess_env

pytestmark = pytest.mark.timeout(60)
T = (5.0, 15.0)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(time_control=True) as srv:
        yield srv


def _register(api: str, wf: Dict[str, Any]) -> requests.Response:
    return requests.put(f"{api}/metadata/workflow", json=[{"version": 1, "schemaVersion": 2, **wf}], timeout=T)


def test_wait_for_an_hour_completes_after_an_advance(server: EmbeddedServer) -> None:
    api = server.api_url
    name = "tw_" + uuid.uuid4().hex[:8]
    wait = {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1 hour"}}
    assert _register(api, {"name": name, "tasks": [wait]}).status_code == 200
    workflow_id = requests.post(f"{api}/workflow/{name}", json={}, timeout=T).text
    server.advance(3599)
    doc = requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()
    assert doc["status"] == "RUNNING" and doc["tasks"][0]["callbackAfterSeconds"] == 3600
    server.advance(1)
    doc = requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()
    assert doc["status"] == "COMPLETED"
    assert doc["tasks"][0]["endTime"] - doc["tasks"][0]["startTime"] >= 3_600_000  # timestamps follow the clock


def test_unsupported_field_combinations_are_clear_400s(server: EmbeddedServer) -> None:
    api = server.api_url
    bad = [
        ({"name": "s", "taskReferenceName": "s", "type": "SWITCH"}, "SWITCH needs an 'expression'"),
        (
            {"name": "l", "taskReferenceName": "l", "type": "DO_WHILE", "loopOver": []},
            "DO_WHILE needs a 'loopCondition'",
        ),
        ({"name": "u", "taskReferenceName": "u", "type": "SUB_WORKFLOW"}, "SUB_WORKFLOW needs 'subWorkflowParam'"),
    ]
    for task, message in bad:
        response = _register(api, {"name": "bad_" + uuid.uuid4().hex[:8], "tasks": [task]})
        assert response.status_code == 400
        assert message in response.json()["validationErrors"][0]["message"]


def test_nested_duplicate_references_are_rejected(server: EmbeddedServer) -> None:
    fork = {
        "name": "f",
        "taskReferenceName": "f",
        "type": "FORK_JOIN",
        "forkTasks": [[{"name": "x", "taskReferenceName": "dup"}], [{"name": "y", "taskReferenceName": "dup"}]],
    }
    response = _register(server.api_url, {"name": "dup_" + uuid.uuid4().hex[:8], "tasks": [fork]})
    assert response.status_code == 400
    assert "dup should be unique" in response.json()["validationErrors"][0]["message"]


_WITHOUT_EXTRA = textwrap.dedent(
    """
    import sys, requests
    sys.modules["quickjs"] = None  # as if 'swift-conductor-client[server]' were not installed
    sys.modules["jq"] = None
    from swift_conductor.devserver import EmbeddedServer

    inline = {"name": "i", "taskReferenceName": "i", "type": "INLINE",
              "inputParameters": {"evaluatorType": "javascript", "expression": "1"}}
    jq = {"name": "j", "taskReferenceName": "j", "type": "JSON_JQ_TRANSFORM",
          "inputParameters": {"queryExpression": "."}}
    setvar = {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE", "inputParameters": {"a": 1}}
    with EmbeddedServer() as server:
        for task in (inline, jq, setvar):
            wf = {"name": "x_" + task["type"], "version": 1, "schemaVersion": 2, "tasks": [task]}
            r = requests.post(server.api_url + "/metadata/workflow", json=wf, timeout=10)
            message = r.json()["validationErrors"][0]["message"] if r.status_code == 400 else ""
            print(task["type"], r.status_code, message)
    """
)


def test_without_the_server_extra_js_and_jq_workflows_are_a_400_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRA], capture_output=True, text=True, timeout=60, env=subprocess_env()
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert lines["INLINE"].startswith("400 ") and "pip install 'swift-conductor-client[server]'" in lines["INLINE"]
    assert lines["JSON_JQ_TRANSFORM"].startswith("400 ") and "[server]" in lines["JSON_JQ_TRANSFORM"]
    assert lines["SET_VARIABLE"].strip() == "200"  # the other system tasks need nothing extra


def test_the_package_imports_no_script_engine_until_needed() -> None:
    code = (
        "import sys, swift_conductor.devserver as d; d.EmbeddedServer; "
        "print('quickjs' in sys.modules, 'jq' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=subprocess_env()
    )
    assert result.stdout.strip() == "False False", result.stderr


def test_workflow_timeout_fires_after_an_advance(server: EmbeddedServer) -> None:
    api = server.api_url
    name = "wto_" + uuid.uuid4().hex[:8]
    worker = {"name": name + "_w", "taskReferenceName": "w", "type": "SIMPLE"}
    wf = {"name": name, "tasks": [worker], "timeoutSeconds": 60, "timeoutPolicy": "TIME_OUT_WF"}
    assert _register(api, wf).status_code == 200
    workflow_id = requests.post(f"{api}/workflow/{name}", json={}, timeout=T).text
    server.advance(59)
    assert requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()["status"] == "RUNNING"
    server.advance(1)
    doc = requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()
    assert doc["status"] == "TIMED_OUT"
    assert doc["reasonForIncompletion"] == (
        "Workflow timed out after 60 seconds. Timeout configured as 60 seconds. "
        "Timeout policy configured to TIME_OUT_WF"
    )
    assert doc["tasks"][0]["status"] == "CANCELED"
    assert requests.get(f"{api}/tasks/poll/{name}_w", timeout=T).status_code == 204  # nothing left to poll


def test_wait_until_a_time_completes_after_an_advance(server: EmbeddedServer) -> None:
    api = server.api_url
    now_ms = requests.get(f"{api}/test/clock", timeout=T).json()["now"]
    # Two hours ahead of the engine clock, to the minute, in the real server's "yyyy-MM-dd HH:mm z" form.
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now_ms / 1000 + 7200))
    name = "twu_" + uuid.uuid4().hex[:8]
    wait = {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"until": until}}
    assert _register(api, {"name": name, "tasks": [wait]}).status_code == 200
    workflow_id = requests.post(f"{api}/workflow/{name}", json={}, timeout=T).text
    doc = requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()
    assert doc["status"] == "RUNNING"
    assert 7080 <= doc["tasks"][0]["callbackAfterSeconds"] <= 7200
    server.advance(7200)
    assert requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()["status"] == "COMPLETED"


def test_bad_wait_input_fails_the_task(server: EmbeddedServer) -> None:
    api = server.api_url
    name = "twb_" + uuid.uuid4().hex[:8]
    wait = {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "soon"}}
    assert _register(api, {"name": name, "tasks": [wait]}).status_code == 200
    doc = requests.get(f"{api}/workflow/{requests.post(f'{api}/workflow/{name}', json={}, timeout=T).text}", timeout=T)
    task = doc.json()["tasks"][0]
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR" and task["reasonForIncompletion"] == "Invalid duration: soon"
