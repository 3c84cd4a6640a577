"""Time control on the embedded server: a test moves the server clock and what fell due happens at once.

Embedded only: the real servers have no clock a client can move.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Dict, Iterator, List

import pytest
import requests

from swift_conductor.devserver import EmbeddedServer, Engine
from swift_conductor.devserver.__main__ import build_parser

pytestmark = pytest.mark.timeout(60)
T = (5.0, 15.0)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(time_control=True) as srv:
        yield srv


@pytest.fixture
def api(server: EmbeddedServer) -> str:
    return server.api_url


@pytest.fixture
def name() -> str:
    return "tc_" + uuid.uuid4().hex[:10]


def _setup(api: str, name: str, **task_def: Any) -> None:
    response = requests.post(f"{api}/metadata/taskdefs", json=[{"name": name, **task_def}], timeout=T)
    assert response.status_code == 200, response.text
    wf = {"name": name, "version": 1, "schemaVersion": 2, "tasks": [{"name": name, "taskReferenceName": "t"}]}
    response = requests.put(f"{api}/metadata/workflow", json=[wf], timeout=T)
    assert response.status_code == 200, response.text


def _start(api: str, name: str) -> str:
    response = requests.post(f"{api}/workflow/{name}", json={}, timeout=T)
    assert response.status_code == 200, response.text
    return response.text


def _poll(api: str, name: str) -> Any:
    response = requests.get(f"{api}/tasks/poll/{name}", params={"workerid": "w"}, timeout=T)
    return None if response.status_code == 204 else response.json()


def _update(api: str, task: Dict[str, Any], status: str, **fields: Any) -> None:
    body = {"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"], "status": status, **fields}
    response = requests.post(f"{api}/tasks", json=body, timeout=T)
    assert response.status_code == 200, response.text


def _workflow(api: str, workflow_id: str) -> Dict[str, Any]:
    return dict(requests.get(f"{api}/workflow/{workflow_id}", timeout=T).json())


def test_retry_delay_of_ten_minutes_is_due_after_an_advance(server: EmbeddedServer, api: str, name: str) -> None:
    _setup(api, name, retryCount=1, retryDelaySeconds=600)
    workflow_id = _start(api, name)
    first = _poll(api, name)
    _update(api, first, "FAILED", reasonForIncompletion="boom")
    assert _poll(api, name) is None  # the retry waits its 600 s
    server.advance(599)
    assert _poll(api, name) is None
    server.advance(1)
    retry = _poll(api, name)
    assert retry is not None and retry["retriedTaskId"] == first["taskId"] and retry["retryCount"] == 1
    _update(api, retry, "COMPLETED")
    assert _workflow(api, workflow_id)["status"] == "COMPLETED"


def test_an_advance_wakes_a_waiting_long_poll(server: EmbeddedServer, api: str, name: str) -> None:
    _setup(api, name, retryCount=1, retryDelaySeconds=600)
    _start(api, name)
    _update(api, _poll(api, name), "FAILED")
    got: List[Any] = []
    waiting = threading.Event()

    def long_poll() -> None:
        waiting.set()
        params = {"count": 1, "timeout": 5000, "workerid": "w"}
        got.append(requests.get(f"{api}/tasks/poll/batch/{name}", params=params, timeout=T).json())

    thread = threading.Thread(target=long_poll)
    thread.start()
    waiting.wait(5)
    time.sleep(0.2)  # let the poll reach the server and sleep on the queue
    server.advance(600)
    thread.join(10)
    # Without the wake-up the poll would sleep out its 5 s and answer [] (the retry is 600 s of clock away).
    assert len(got) == 1 and len(got[0]) == 1 and got[0][0]["retryCount"] == 1


def test_response_timeout_of_an_hour_times_out_and_requeues_after_an_advance(
    server: EmbeddedServer, api: str, name: str
) -> None:
    _setup(api, name, retryCount=1, retryDelaySeconds=0, responseTimeoutSeconds=3600)
    workflow_id = _start(api, name)
    first = _poll(api, name)
    server.advance(3599)
    assert [t["status"] for t in _workflow(api, workflow_id)["tasks"]] == ["IN_PROGRESS"]
    server.advance(1)
    tasks = _workflow(api, workflow_id)["tasks"]
    assert [t["status"] for t in tasks] == ["TIMED_OUT", "SCHEDULED"]
    assert tasks[0]["reasonForIncompletion"].startswith("responseTimeout: 3600 exceeded")
    retry = _poll(api, name)
    assert retry["taskId"] == tasks[1]["taskId"] and retry["retriedTaskId"] == first["taskId"]


def test_in_progress_callback_of_an_hour_comes_back_after_an_advance(
    server: EmbeddedServer, api: str, name: str
) -> None:
    _setup(api, name, retryCount=0)
    _start(api, name)
    task = _poll(api, name)
    _update(api, task, "IN_PROGRESS", callbackAfterSeconds=3600, outputData={"step": 1})
    assert _poll(api, name) is None
    server.advance(3600)
    again = _poll(api, name)
    assert again["taskId"] == task["taskId"] and again["pollCount"] == 2


def test_timestamps_follow_the_moved_clock(server: EmbeddedServer, api: str, name: str) -> None:
    _setup(api, name, retryCount=0)
    before = requests.get(f"{api}/test/clock", timeout=T).json()
    server.advance(86_400)
    after = requests.get(f"{api}/test/clock", timeout=T).json()
    assert after["offsetMs"] - before["offsetMs"] == 86_400_000
    assert after["now"] - before["now"] >= 86_400_000
    workflow_id = _start(api, name)
    task = _poll(api, name)
    _update(api, task, "COMPLETED")
    doc = _workflow(api, workflow_id)
    wall_now = int(time.time() * 1000)
    for stamp in (doc["createTime"], doc["endTime"], doc["tasks"][0]["scheduledTime"], doc["tasks"][0]["endTime"]):
        assert stamp >= before["now"] + 86_400_000
        assert stamp > wall_now + 86_000_000  # a day ahead of this process's clock


def test_advance_over_http(api: str) -> None:
    before = requests.get(f"{api}/test/clock", timeout=T).json()
    response = requests.post(f"{api}/test/clock/advance", params={"seconds": "2.5"}, timeout=T)
    assert response.status_code == 200
    assert response.json()["now"] >= before["now"] + 2500
    assert requests.get(f"{api}/test/clock", timeout=T).json()["offsetMs"] == before["offsetMs"] + 2500
    for bad in ("abc", "-1", "nan"):
        response = requests.post(f"{api}/test/clock/advance", params={"seconds": bad}, timeout=T)
        assert response.status_code == 400, bad
        assert "seconds" in response.json()["message"]
    assert requests.post(f"{api}/test/clock/advance", timeout=T).status_code == 400


def test_without_time_control_the_route_is_unknown_and_advance_refuses(embedded_server_url: str) -> None:
    for method, path in (("POST", "test/clock/advance?seconds=1"), ("GET", "test/clock")):
        response = requests.request(method, f"{embedded_server_url}/{path}", timeout=T)
        assert response.status_code == 404
        assert response.json()["error"] == "Not Found"
    with pytest.raises(RuntimeError, match="time_control=True"):
        EmbeddedServer().advance(1)
    with pytest.raises(RuntimeError, match="time control is off"):
        Engine().advance(1)


def test_engine_rejects_moving_back() -> None:
    engine = Engine(time_control=True)
    with pytest.raises(ValueError, match="only moves forward"):
        engine.advance(-1)
    start = engine.clock.now_ms()
    engine.advance(10)
    assert engine.clock.now_ms() - start >= 10_000


def test_cli_flag() -> None:
    assert build_parser().parse_args(["--time-control"]).time_control is True
    assert build_parser().parse_args([]).time_control is False
