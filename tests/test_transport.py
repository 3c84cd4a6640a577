"""The transport: keep-alive reuse after the server drops a connection, TLS verification, proxy fallback."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from swift_conductor import Configuration, TaskClient
from swift_conductor.http.errors import ConductorConnectionError
from swift_conductor.http.transports import RequestsTransport, StdlibTransport, make_transport

from .support.proxy import FaultProxy, split_url


def test_a_dropped_keep_alive_connection_is_replaced(embedded_server_url: str) -> None:
    with FaultProxy(*split_url(embedded_server_url)) as proxy:
        client = TaskClient(Configuration(server_api_url=f"http://127.0.0.1:{proxy.port}/api"))
        assert client.queue_sizes("x") == {"x": 0}
        proxy.cut()  # the server side closes the idle connection
        assert client.queue_sizes("x") == {"x": 0}
        assert proxy.connections == 2


def test_an_unreachable_server_is_a_connection_error() -> None:
    client = TaskClient(Configuration(server_api_url="http://127.0.0.1:9/api", connect_timeout=1))
    with pytest.raises(ConductorConnectionError, match=r"127\.0\.0\.1:9") as err:
        client.queue_sizes("x")
    assert err.value.retryable


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_url(embedded_server_url: str, certificate: Tuple[Path, Path]) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    with FaultProxy(*split_url(embedded_server_url), tls=context) as proxy:
        yield f"https://127.0.0.1:{proxy.port}/api"


@pytest.mark.parametrize("transport", ["auto", "requests"])
def test_tls_is_verified_by_default(tls_url: str, certificate: Tuple[Path, Path], transport: str) -> None:
    with pytest.raises(ConductorConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        TaskClient(Configuration(server_api_url=tls_url, transport=transport)).queue_sizes("x")
    trusted = Configuration(server_api_url=tls_url, ca_bundle=str(certificate[0]), transport=transport)
    assert TaskClient(trusted).queue_sizes("x") == {"x": 0}
    unverified = Configuration(server_api_url=tls_url, verify_ssl=False, transport=transport)
    assert TaskClient(unverified).queue_sizes("x") == {"x": 0}


def test_a_proxy_from_the_environment_sends_through_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert isinstance(make_transport("http://conductor.example:8080/api", True, "auto"), RequestsTransport)
    monkeypatch.setenv("NO_PROXY", "conductor.example")
    assert isinstance(make_transport("http://conductor.example:8080/api", True, "auto"), StdlibTransport)
    assert isinstance(make_transport("http://conductor.example:8080/api", True, "requests"), RequestsTransport)


def test_bad_transport_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="transport must be one of auto, requests"):
        Configuration(transport="curl")


def test_the_dialect_guess_is_not_kept_while_the_server_is_away() -> None:
    from swift_conductor.http import ApiClient

    api = ApiClient(Configuration(server_api_url="http://127.0.0.1:9/api", connect_timeout=0.5))
    assert api.resolve_dialect() == "tasks"
    assert api.facts.dialect is None  # asked again next time


def test_the_swift_3_16_dialect_end_to_end(embedded_server_url: str, uid: str) -> None:
    from swift_conductor import MetadataClient, TaskDef, TaskResult, WorkflowClient, WorkflowDef, WorkflowTask

    config = Configuration(server_api_url=embedded_server_url, dialect="task")
    MetadataClient(config).register_task_defs([TaskDef(name=f"d_{uid}", retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [WorkflowDef(name=f"d_{uid}", tasks=[WorkflowTask(name=f"d_{uid}", task_reference_name="t", type="CUSTOM")])]
    )
    wid = WorkflowClient(config).start_workflow(f"d_{uid}", {})
    task = TaskClient(config).poll(f"d_{uid}")
    assert task is not None and task.workflow_instance_id == wid
    TaskClient(config).update_task(TaskResult(task_id=task.task_id, workflow_instance_id=wid, status="COMPLETED"))
    assert WorkflowClient(config).get_workflow(wid).status == "COMPLETED"
    assert TaskClient(config).api.path("tasks") == "task"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NO_PROXY": "other.example"}, StdlibTransport),  # a NO_PROXY list alone is no proxy
        ({"FTP_PROXY": "http://p:1"}, StdlibTransport),
        ({"HTTPS_PROXY": "http://p:1"}, StdlibTransport),  # the server URL is plain http
        ({"ALL_PROXY": "http://p:1"}, RequestsTransport),
    ],
)
def test_only_a_proxy_that_applies_switches_to_requests(
    monkeypatch: pytest.MonkeyPatch, env: dict, expected: type
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert isinstance(make_transport("http://conductor.example:8080/api", True, "auto"), expected)


def test_a_ca_directory_works_like_a_ca_file(tls_url: str, certificate: Tuple[Path, Path], tmp_path: Path) -> None:
    folder = tmp_path / "cas"
    folder.mkdir()
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(certificate[0])], capture_output=True, text=True, check=True
    ).stdout.strip()
    (folder / f"{digest}.0").write_bytes(certificate[0].read_bytes())
    for transport in ("auto", "requests"):
        config = Configuration(server_api_url=tls_url, ca_bundle=str(folder), transport=transport)
        assert TaskClient(config).queue_sizes("x") == {"x": 0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auth_token": "s3cret-token\n"}, "X-Authorization contains a line break"),
        ({"headers": {"X-Team": "t\u00f6k\u20acn"}}, "X-Team has characters HTTP cannot carry"),
        ({"headers": {"Bad Name": "x"}}, "bad HTTP header name"),
        ({"server_api_url": "http://host:99999/api"}, "bad server URL"),
        ({"server_api_url": "http://host/c\u00f6nductor/api"}, "percent-encode the path"),
    ],
)
def test_bad_headers_and_urls_fail_at_configuration_without_echoing_secrets(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        Configuration(**kwargs)
    assert "s3cret" not in str(err.value)


def test_a_server_error_during_dialect_detection_is_not_taken_as_the_answer() -> None:
    import http.server
    import threading

    from swift_conductor.http import ApiClient

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        api = ApiClient(Configuration(server_api_url=url))
        assert api.resolve_dialect() == "tasks"
        assert api.facts.dialect is None
    finally:
        server.shutdown()
        server.server_close()
