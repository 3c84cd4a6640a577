"""HTTP-level conventions: health, unknown paths, wrong methods, content types, keep-alive, bad requests."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from conformance_harness import Harness

pytestmark = pytest.mark.timeout(60)


def test_health(conductor: Harness) -> None:
    response = conductor.raw.get(f"{conductor.raw.root}/health")
    assert response.status_code == 200
    assert response.json()["healthy"] is True


@pytest.mark.parametrize("path", ["nope", "tasks/a/b/c/d", "metadata/nothing/here", "workflow/a/b/c/d"])
def test_unknown_path_is_404(conductor: Harness, server_kind: str, path: str) -> None:
    response = conductor.raw.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    if server_kind == "oss":  # Spring 6: the static-resource fallback answers, in the usual error shape
        assert body == {
            "status": 404,
            "message": f"No static resource api/{path}.",
            "instance": body["instance"],
            "retryable": False,
        }
    else:  # Netflix 3.15 (Spring 5) and the embedded server: Spring Boot's default error body
        assert body["error"] == "Not Found"
        assert body["path"] == f"/api/{path}"


def test_unknown_root_path(conductor: Harness, server_kind: str) -> None:
    response = conductor.raw.get(f"{conductor.raw.root}/nope")
    if server_kind == "oss":  # the bundled UI is a single-page app: any unknown root path serves its index page
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
    else:
        assert response.status_code == 404


def test_wrong_method(conductor: Harness, server_kind: str) -> None:
    response = conductor.raw.request("PATCH", "tasks")
    if server_kind == "oss":
        assert response.status_code == 405
        assert response.json()["message"] == "Request method 'PATCH' is not supported"
    else:
        assert response.status_code == 500
        assert response.json()["message"] == "Request method 'PATCH' not supported"


def test_json_endpoints_need_json_content_type(conductor: Harness, server_kind: str) -> None:
    response = conductor.raw.post("metadata/taskdefs", data=b'[{"name": "x"}]')
    assert response.status_code == 500
    if server_kind == "oss":
        assert response.json()["message"] == "Content-Type 'application/octet-stream' is not supported"
    else:
        assert response.json()["message"] == "Content type 'application/octet-stream' not supported"


def test_error_body_shape(conductor: Harness) -> None:
    response = conductor.raw.get(f"metadata/taskdefs/{conductor.name('nope')}")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "message", "instance", "retryable"}
    assert (body["status"], body["retryable"]) == (404, False)


def test_empty_void_responses(conductor: Harness) -> None:
    name = conductor.name("td")
    response = conductor.raw.post("metadata/taskdefs", json=[{"name": name}])
    assert (response.status_code, response.content) == (200, b"")


def _read_response(reader) -> bytes:  # type: ignore[no-untyped-def]
    """Read one HTTP/1.1 response body, Content-Length or chunked (the real server chunks JSON)."""
    assert reader.readline().startswith(b"HTTP/1.1 200")
    headers = {}
    while True:
        line = reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return bytes(reader.read(int(headers["content-length"])))
    assert headers.get("transfer-encoding") == "chunked"
    body = b""
    while True:
        size = int(reader.readline().strip(), 16)
        if size == 0:
            reader.readline()
            return body
        body += reader.read(size)
        reader.readline()


def test_keep_alive_serves_many_requests_on_one_connection(conductor: Harness) -> None:
    parts = urlsplit(conductor.url)
    request = f"GET /health HTTP/1.1\r\nHost: {parts.hostname}\r\n\r\n".encode()
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=5) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(request)
            assert b'"healthy":true' in _read_response(reader)


def test_server_survives_garbage(conductor: Harness) -> None:
    parts = urlsplit(conductor.url)
    for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET\r\n\r\n"):
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=5) as sock:
            sock.sendall(garbage)
            sock.settimeout(5)
            try:
                sock.recv(4096)
            except OSError:
                pass
    assert conductor.raw.get(f"{conductor.raw.root}/health").status_code == 200


def test_nan_in_a_task_result_is_refused_with_a_final_500(conductor: Harness) -> None:
    task = conductor.task_def("nan")
    wf = conductor.single_task_workflow(task)
    wid = conductor.workflows.start_workflow(wf, {})
    polled = conductor.tasks.poll(task)
    assert polled is not None
    body = b'{"taskId": "%s", "workflowInstanceId": "%s", "status": "COMPLETED", "outputData": {"x": NaN}}' % (
        str(polled.task_id).encode(),
        wid.encode(),
    )
    response = conductor.raw.post("tasks", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 500
    assert response.json()["retryable"] is False
    assert "NaN" in response.json()["message"]
