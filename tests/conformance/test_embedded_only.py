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
from tests.support.waiting import wait_for

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


def _now_ms() -> int:
    return int(time.time() * 1000)  # the server runs in this process: one clock


def test_long_poll_wakes_as_soon_as_a_task_is_ready(api: str, name: str) -> None:
    _setup(api, name)
    result: List[list] = []

    def poll() -> None:
        params = {"count": 5, "timeout": 5000}
        result.append(requests.get(f"{api}/tasks/poll/batch/{name}", params=params, timeout=T).json())

    sent = _now_ms()
    thread = threading.Thread(target=poll)
    thread.start()
    wait_for(lambda: _poll_waiters(api, name), 5, "the poll to wait on the queue")
    _start(api, name)
    thread.join(timeout=10)
    # The real servers return [] or wait out the full 5 s here; the server's own timestamp shows it handed the
    # task to the waiting poll before that poll's timeout.
    [[task]] = result
    assert task["startTime"] < sent + 5000


def _poll_waiters(api: str, name: str) -> bool:
    """True once a poll has reached the server (its poll data shows a last-poll time)."""
    data = requests.get(f"{api}/tasks/queue/polldata", params={"taskType": name}, timeout=T).json()
    return bool(data)


def test_batch_poll_returns_ready_tasks_without_waiting(api: str, name: str) -> None:
    _setup(api, name)
    _start(api, name)
    sent = _now_ms()
    tasks = requests.get(f"{api}/tasks/poll/batch/{name}", params={"count": 10, "timeout": 3000}, timeout=T).json()
    assert len(tasks) == 1
    assert tasks[0]["startTime"] < sent + 3000  # handed out before the poll's timeout: it did not wait for 10


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
    postponed = requests.get(f"{api}/tasks/{task['taskId']}", timeout=T).json()
    assert postponed["status"] == "SCHEDULED"
    sent = _now_ms()
    again = requests.get(f"{api}/tasks/poll/batch/{name}", params={"timeout": 5000}, timeout=T).json()
    assert [t["taskId"] for t in again] == [task["taskId"]]
    # redelivered no sooner than the callback, and to the poll that was waiting (before its timeout)
    assert again[0]["updateTime"] - postponed["updateTime"] >= 1000
    assert again[0]["updateTime"] < sent + 5000


def test_response_timeout_without_decide(api: str, name: str) -> None:
    _setup(api, name, responseTimeoutSeconds=1)
    workflow_id = _start(api, name)
    requests.get(f"{api}/tasks/poll/{name}", timeout=T)

    def timed_out() -> bool:  # no decide call: the sweeper (every 200 ms) finds it
        doc = requests.get(f"{api}/workflow/{workflow_id}", params={"includeTasks": "false"}, timeout=T).json()
        return bool(doc["status"] == "TIMED_OUT")

    wait_for(timed_out, 10, "the sweeper to time the task out")
    doc = requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json()
    task = doc["tasks"][0]
    assert task["status"] == "TIMED_OUT"
    assert task["endTime"] - task["updateTime"] >= 1000  # not before its response timeout


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
        wait_for(lambda: _poll_waiters(server.api_url, "x"), 5, "the poll to wait on the queue")
    # the poll asked for 5 s; the stop answers it well before that
    wait_for(lambda: not thread.is_alive(), 4, "the stop to release the waiting poll")
    assert result == [200]
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
