"""The embedded server's own behaviour: deliberate differences from the real server, dialects, CLI, lifecycle.

These do not run against the real server (which behaves differently here, on purpose; see
docs/embedded-server.md).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Iterator, List

import pytest
import requests

from swift_conductor.devserver import EmbeddedServer
from swift_conductor.devserver.__main__ import main

pytestmark = pytest.mark.timeout(60)
T = (5.0, 15.0)


@pytest.fixture
def api(embedded_server_url: str) -> str:
    return embedded_server_url


@pytest.fixture
def name() -> str:
    return "emb_" + uuid.uuid4().hex[:10]


def _setup(api: str, name: str, task_type: str = "SIMPLE", **task_def: object) -> None:
    requests.post(f"{api}/metadata/taskdefs", json=[{"name": name, "retryCount": 0, **task_def}], timeout=T)
    wf = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "tasks": [{"name": name, "taskReferenceName": "t", "type": task_type}],
    }
    response = requests.put(f"{api}/metadata/workflow", json=[wf], timeout=T)
    assert response.status_code == 200, response.text


def _start(api: str, name: str) -> str:
    return requests.post(f"{api}/workflow/{name}", json={}, timeout=T).text


def test_long_poll_wakes_as_soon_as_a_task_is_ready(api: str, name: str) -> None:
    _setup(api, name)
    result: List[float] = []

    def poll() -> None:
        t0 = time.monotonic()
        tasks = requests.get(f"{api}/tasks/poll/batch/{name}", params={"count": 5, "timeout": 5000}, timeout=T).json()
        result.append(time.monotonic() - t0)
        assert len(tasks) == 1

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    _start(api, name)
    thread.join(timeout=10)
    assert result and result[0] < 1.0  # the real server would wait the full 5 s and return []


def test_batch_poll_returns_ready_tasks_without_waiting(api: str, name: str) -> None:
    _setup(api, name)
    _start(api, name)
    t0 = time.monotonic()
    tasks = requests.get(f"{api}/tasks/poll/batch/{name}", params={"count": 10, "timeout": 3000}, timeout=T).json()
    assert len(tasks) == 1
    assert time.monotonic() - t0 < 0.5


def test_long_poll_wakes_for_a_postponed_task(api: str, name: str) -> None:
    _setup(api, name)
    _start(api, name)
    task = requests.get(f"{api}/tasks/poll/{name}", timeout=T).json()
    requests.post(
        f"{api}/tasks",
        json={
            "taskId": task["taskId"],
            "workflowInstanceId": task["workflowInstanceId"],
            "status": "IN_PROGRESS",
            "callbackAfterSeconds": 1,
        },
        timeout=T,
    )
    t0 = time.monotonic()
    again = requests.get(f"{api}/tasks/poll/batch/{name}", params={"timeout": 5000}, timeout=T).json()
    assert [t["taskId"] for t in again] == [task["taskId"]]
    assert 0.8 < time.monotonic() - t0 < 2.0


def test_response_timeout_without_decide(api: str, name: str) -> None:
    _setup(api, name, responseTimeoutSeconds=1)
    workflow_id = _start(api, name)
    requests.get(f"{api}/tasks/poll/{name}", timeout=T)
    time.sleep(1.6)  # the sweeper runs every 200 ms; the real server's may take a minute
    doc = requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()
    assert doc["status"] == "TIMED_OUT"


def test_swift_dialect_paths(api: str, name: str) -> None:
    body = [{"name": name, "retryCount": 0}]
    assert requests.post(f"{api}/metadata/taskdef", json=body, timeout=T).status_code == 200
    assert requests.get(f"{api}/metadata/taskdef/{name}", timeout=T).json()["name"] == name
    wf = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "tasks": [{"name": name, "taskReferenceName": "t", "type": "CUSTOM"}],
    }
    assert requests.post(f"{api}/metadata/workflowdef", json=wf, timeout=T).status_code == 200
    assert requests.get(f"{api}/metadata/workflowdef/{name}", timeout=T).json()["tasks"][0]["type"] == "CUSTOM"
    workflow_id = _start(api, name)
    task = requests.get(f"{api}/task/poll/{name}", params={"workerid": "sw"}, timeout=T).json()
    assert task["taskType"] == name and task["workflowInstanceId"] == workflow_id
    assert (
        requests.get(f"{api}/task/queue/poll-data", params={"taskType": name}, timeout=T).json()[0]["workerId"] == "sw"
    )
    assert requests.get(f"{api}/tasks/{task['taskId']}", timeout=T).json()["status"] == "IN_PROGRESS"  # one state
    response = requests.post(
        f"{api}/task",
        json={"taskId": task["taskId"], "workflowInstanceId": workflow_id, "status": "COMPLETED"},
        timeout=T,
    )
    assert response.text == task["taskId"]
    assert requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()["status"] == "COMPLETED"


@pytest.mark.parametrize("task_type", ["EVENT", "KAFKA_PUBLISH", "NOT_A_TYPE"])
def test_unsupported_task_types_are_rejected_at_registration(api: str, name: str, task_type: str) -> None:
    wf = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "tasks": [{"name": "x", "taskReferenceName": "x", "type": task_type}],
    }
    for method, body in (("POST", wf), ("PUT", [wf])):
        response = requests.request(method, f"{api}/metadata/workflow", json=body, timeout=T)
        assert response.status_code == 400
        (error,) = response.json()["validationErrors"]
        assert task_type in error["message"]
        assert error["path"].endswith("tasks[0].type")
    assert requests.get(f"{api}/metadata/workflow/{name}", timeout=T).status_code == 404


def test_many_concurrent_long_polls_and_updates(api: str, name: str) -> None:
    _setup(api, name)
    total = 200
    done: List[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        session = requests.Session()
        while not stop.is_set():
            tasks = session.get(f"{api}/tasks/poll/batch/{name}", params={"count": 3, "timeout": 300}, timeout=T).json()
            for t in tasks:
                session.post(
                    f"{api}/tasks",
                    json={"taskId": t["taskId"], "workflowInstanceId": t["workflowInstanceId"], "status": "COMPLETED"},
                    timeout=T,
                )
                with lock:
                    done.append(t["taskId"])

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    session = requests.Session()
    for _ in range(total):
        session.post(f"{api}/workflow/{name}", json={}, timeout=T)
    deadline = time.monotonic() + 30
    while len(done) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(done) == total and len(set(done)) == total


def test_embedded_server_lifecycle() -> None:
    server = EmbeddedServer(port=0)
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.api_url == f"http://127.0.0.1:{server.port}/api"
        assert server.url + "/api" == server.api_url
        assert requests.get(server.url + "/health", timeout=T).json()["healthy"] is True
        # a waiting long poll is released when the server stops
        result: List[int] = []

        def poll() -> None:
            try:
                r = requests.get(f"{server.api_url}/tasks/poll/batch/x", params={"timeout": 5000}, timeout=T)
                result.append(r.status_code)
            except requests.RequestException:
                result.append(-1)

        thread = threading.Thread(target=poll)
        thread.start()
        time.sleep(0.2)
        t0 = time.monotonic()
    thread.join(timeout=10)
    assert time.monotonic() - t0 < 3
    assert result
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/health", timeout=2)
    server.stop()  # stopping twice is harmless


def test_cli_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--port", "abc"], ["--port", "70000"], ["--nope"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_runs_until_signal(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swift_conductor.devserver", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("swift-conductor devserver ready at http://127.0.0.1:")
        api = line.rsplit(" ", 1)[-1].strip()
        assert requests.get(api[: -len("/api")] + "/health", timeout=T).status_code == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with EmbeddedServer(port=0) as server:
        yield server.port


def test_cli_port_in_use_exits_1(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", str(busy_port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_update_naming_another_workflows_task_is_404(api: str, name: str) -> None:
    _setup(api, name)
    first = _start(api, name)
    other = _start(api, name)
    task = requests.get(f"{api}/tasks/poll/{name}", timeout=T).json()
    wrong = other if task["workflowInstanceId"] == first else first
    body = {"taskId": task["taskId"], "workflowInstanceId": wrong, "status": "COMPLETED"}
    response = requests.post(f"{api}/tasks", json=body, timeout=T)
    assert response.status_code == 404  # the real server says 200 and completes it (a bug we do not copy)
    assert requests.get(f"{api}/tasks/{task['taskId']}", timeout=T).json()["status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /api/tasks HTTP/1.1\r\nContent-Length: 1000000000000000000\r\n\r\n",
        b"POST /api/tasks HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
        b"POST /api/tasks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
        b"POST /api/tasks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n",
    ],
    ids=["huge-length", "conflicting-lengths", "negative-chunk", "huge-chunk"],
)
def test_broken_request_framing_gets_a_400_and_the_server_stays_up(api: str, request_bytes: bytes) -> None:
    import json
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(api)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request_bytes)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), reply[:200]
    assert json.loads(body)["status"] == 400
    assert requests.get(api.replace("/api", "/health"), timeout=5).status_code == 200
