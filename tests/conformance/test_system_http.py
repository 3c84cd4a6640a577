"""HTTP and START_WORKFLOW on all three servers. The HTTP target is a server of this test on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, List

import pytest
from conformance_harness import Harness
from system_flows import by_ref, define, ended, rows, wait_until

from swift_conductor.http.models import TaskDef

pytestmark = pytest.mark.timeout(120)


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it got; paths containing "fail" answer 500."""

    seen: List[dict] = []

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self) -> None:
        raw = self._body()
        got = {"method": self.command, "path": self.path, "header": self.headers.get("X-Test"), "body": raw.decode()}
        _Echo.seen.append(got)
        out = json.dumps({"echo": got["header"], "path": self.path}).encode()
        self.send_response(500 if "fail" in self.path else 201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _http(ref: str, uri: str, method: str = "POST") -> dict:
    return {
        "name": ref,
        "taskReferenceName": ref,
        "type": "HTTP",
        "inputParameters": {
            "http_request": {
                "uri": uri,
                "method": method,
                "headers": {"X-Test": "yes"},
                "body": {"order": "${workflow.input.order}"},
                "contentType": "application/json",
                "accept": "application/json",
            }
        },
    }


def test_http_call_and_its_response(conductor: Harness, target: str) -> None:
    name = define(
        conductor,
        "http",
        [_http("call", f"{target}/ok/{conductor.prefix}?q=1")],
        output={"code": "${call.output.response.statusCode}", "echo": "${call.output.response.body.echo}"},
    )
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {"order": 7}), ended, "the HTTP call")
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("call", "HTTP", "COMPLETED")]
    task = by_ref(doc)["call"]
    assert task["inputData"]["asyncComplete"] is False
    assert task["inputData"]["http_request"]["body"] == {"order": 7}
    response = task["outputData"]["response"]
    assert response["statusCode"] == 201 and response["reasonPhrase"] == "Created"
    assert response["body"] == {"echo": "yes", "path": f"/ok/{conductor.prefix}?q=1"}
    assert response["headers"]["Content-Type"] == ["application/json"]
    assert doc["output"] == {"code": 201, "echo": "yes"}
    assert any(s["path"] == f"/ok/{conductor.prefix}?q=1" and s["method"] == "POST" for s in _Echo.seen)


def test_http_error_status_fails_the_task(conductor: Harness, target: str) -> None:
    name = define(conductor, "httpfail", [_http("call", f"{target}/fail/{conductor.prefix}")])
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {"order": 1}), ended, "the HTTP call")
    assert doc["status"] == "FAILED"
    task = by_ref(doc)["call"]
    assert task["status"] == "FAILED" and task["retryCount"] == 0
    reason = task["reasonForIncompletion"]
    assert reason.startswith("Failed to invoke HTTP task due to: java.lang.Exception: 500 Internal Server Error")
    assert task["outputData"]["response"] == reason[len("Failed to invoke HTTP task due to: ") :]


def test_start_workflow_starts_another_and_goes_on(conductor: Harness) -> None:
    other = define(
        conductor,
        "started",
        [
            {
                "name": "sv",
                "taskReferenceName": "sv",
                "type": "SET_VARIABLE",
                "inputParameters": {"v": "${workflow.input.v}"},
            }
        ],
        output={"v": "${workflow.input.v}"},
    )
    name = define(
        conductor,
        "starter",
        [
            {
                "name": "start",
                "taskReferenceName": "start",
                "type": "START_WORKFLOW",
                "inputParameters": {
                    "startWorkflow": {"name": other, "version": 1, "input": {"v": "${workflow.input.v}"}}
                },
            }
        ],
        output={"started": "${start.output.workflowId}"},
    )
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {"v": 3}), ended, "the starter to end")
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("start", "START_WORKFLOW", "COMPLETED")]
    started_id = by_ref(doc)["start"]["outputData"]["workflowId"]
    assert doc["output"] == {"started": started_id}
    started = wait_until(conductor, started_id, ended, "the started workflow to end")
    assert started["workflowName"] == other and started["output"] == {"v": 3}
    assert "parentWorkflowId" not in started  # started, not a sub-workflow


def test_a_system_task_with_a_task_definition_is_retried(conductor: Harness, target: str) -> None:
    """Both real servers retry a failed HTTP task when a task definition of its name allows it (a new task with
    retryCount 1 and retriedTaskId); a terminal script error is never retried."""
    http_name = conductor.name("http_def")
    conductor.metadata.register_task_defs([TaskDef(name=http_name, retry_count=1, retry_delay_seconds=0)])
    task = {**_http("call", f"{target}/fail/{conductor.prefix}", method="GET"), "name": http_name}
    name = define(conductor, "httpretry", [task])
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {}), ended, "the retried HTTP call")
    assert doc["status"] == "FAILED"
    first, retry = doc["tasks"]
    assert (first["status"], first["retryCount"]) == ("FAILED", 0)
    assert (retry["status"], retry["retryCount"], retry["retriedTaskId"]) == ("FAILED", 1, first["taskId"])
    assert retry["referenceTaskName"] == "call" and retry["taskType"] == "HTTP"
