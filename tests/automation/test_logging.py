"""Logs that reach the operator: worker records relayed to the host, one format, task ids, levels, JSON,
rate-limited failure tracebacks, polling trouble and recovery, hints for a wrong server URL."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List

import pytest

from swift_conductor import (
    Configuration,
    MetadataClient,
    TaskDef,
    Worker,
    WorkerHost,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor.automation import logs
from swift_conductor.automation.runner_log import short_error
from swift_conductor.clients import TaskClient
from swift_conductor.http.errors import ConductorApiError
from swift_conductor.worker import failure_log

from ..conftest import ROOT, subprocess_env
from ..support.proxy import FaultProxy, split_url
from ..support.waiting import wait_for
from . import log_fixtures

CLI = [sys.executable, "-m", "swift_conductor.cli"]


def _define(config: Configuration, name: str) -> None:
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name=name,
                tasks=[WorkflowTask(name=name, task_reference_name="t", input_parameters={"n": "${workflow.input.n}"})],
            )
        ]
    )


def _module(tmp_path: Path, name: str) -> str:
    """A module of @worker_task functions for ``swift-conductor run``, logging through its own logger."""
    (tmp_path / "chatty_workers.py").write_text(
        "from swift_conductor_decorators import worker_task\n"
        "from tests.automation.log_fixtures import chatty\n"
        f"worker_task({name!r})(chatty)\n"
    )
    return "chatty_workers"


def _run_cli(tmp_path: Path, url: str, name: str, inputs: List[int], *extra: str) -> str:
    module = _module(tmp_path, name)
    env = subprocess_env(PYTHONPATH=f"{ROOT}:{tmp_path}")
    process = subprocess.Popen(
        [*CLI, "run", module, "--server", url, *extra],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    config = Configuration(server_api_url=url)
    try:
        workflows = WorkflowClient(config)
        ids = [workflows.start_workflow(name, {"n": n}) for n in inputs]
        for wid in ids:
            wait_for(lambda w=wid: workflows.get_workflow(w).is_terminal, 30, "the workflow to finish")
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def test_a_workers_own_logging_reaches_the_cli_output_once_in_one_format(
    embedded_server_url: str, uid: str, tmp_path: Path
) -> None:
    name = f"chatty_{uid}"
    _define(Configuration(server_api_url=embedded_server_url), name)
    out = _run_cli(tmp_path, embedded_server_url, name, [5, -1], "--debug")
    lines = out.splitlines()
    mine = [line for line in lines if "myworkers.orders: hello from the worker, n=5" in line]
    assert len(mine) == 1, out
    # time, level, process id, worker and task id, then the logger
    assert re.match(rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} INFO \d+ \[worker={name} task=[\w-]+\] ", mine[0])
    # the library's lines (host and worker process) look the same, and none is printed twice under --debug
    library = [line for line in lines if " swift_conductor." in line]
    assert library and all(re.match(r"^\d{4}-\d\d-\d\d \S+ [A-Z]+ \d+ ", line) for line in library)
    assert len(library) == len(set(library)), "a line was printed twice"
    start = [line for line in lines if f"polling {name} as " in line]
    assert len(start) == 1
    assert "function=" not in start[0] and "chatty" in start[0]  # a function worker is named by its function
    for word in ("threads=1", "domain=-", "paused=no", "interval=", "long_poll=", f"server={embedded_server_url}"):
        assert word in start[0]
    # the failed task's traceback is in the local log, at WARNING
    failed = next(i for i, line in enumerate(lines) if "failed: ValueError: negative n: -1" in line)
    assert " WARNING " in lines[failed] and "Traceback (most recent call last)" in lines[failed + 1]


def test_json_lines_for_log_shippers(embedded_server_url: str, uid: str, tmp_path: Path) -> None:
    name = f"chattyjson_{uid}"
    _define(Configuration(server_api_url=embedded_server_url), name)
    out = _run_cli(tmp_path, embedded_server_url, name, [3], "--log-format", "json")
    assert out.strip() and all(line.startswith("{") for line in out.splitlines()), out  # nothing else
    records = [json.loads(line) for line in out.splitlines()]
    mine = [r for r in records if r["logger"] == "myworkers.orders"]
    assert len(mine) == 1 and mine[0]["level"] == "INFO" and mine[0]["worker"] == name
    assert mine[0]["task_id"] and mine[0]["task_type"] == name and mine[0]["message"].endswith("n=3")
    assert {"time", "process"} <= set(mine[0])


def test_log_level_from_the_environment(embedded_server_url: str, uid: str, tmp_path: Path) -> None:
    name = f"chattyquiet_{uid}"
    _define(Configuration(server_api_url=embedded_server_url), name)
    module = _module(tmp_path, name)
    env = subprocess_env(PYTHONPATH=f"{ROOT}:{tmp_path}", CONDUCTOR_LOG_LEVEL="warning")
    process = subprocess.Popen(
        [*CLI, "run", module, "--server", embedded_server_url],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    workflows = WorkflowClient(Configuration(server_api_url=embedded_server_url))
    try:
        wid = workflows.start_workflow(name, {"n": -2})
        wait_for(lambda: workflows.get_workflow(wid).is_terminal, 30, "the workflow to finish")
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert "failed: ValueError: negative n: -2" in out  # WARNING and up are shown...
    assert " INFO " not in out  # ...INFO is not, neither the library's nor the worker's own


def test_a_bad_level_is_refused_with_its_source() -> None:
    with pytest.raises(ValueError, match="environment variable CONDUCTOR_LOG_LEVEL: 'loud' is not a log level"):
        logs.resolve_level(logs.DEFAULT, {"CONDUCTOR_LOG_LEVEL": "loud"})
    assert logs.resolve_level(logs.DEFAULT, {}) == logging.INFO
    assert logs.resolve_level("debug") == logging.DEBUG
    with pytest.raises(ValueError, match="log_format"):
        logs.resolve_format("xml", {})


@pytest.fixture
def captured() -> Iterator[List[logging.LogRecord]]:
    """Records reaching the host's ``swift_conductor`` logger (worker records are relayed to it)."""
    records: List[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    package = logging.getLogger("swift_conductor")
    package.addHandler(handler)
    try:
        yield records
    finally:
        package.removeHandler(handler)


def _messages(records: List[logging.LogRecord]) -> str:
    return "\n".join(r.getMessage() for r in records)


def test_polling_trouble_is_logged_and_so_is_the_recovery(
    embedded_server_url: str, uid: str, captured: List[logging.LogRecord]
) -> None:
    with FaultProxy(*split_url(embedded_server_url)) as proxy:
        config = Configuration(server_api_url=f"http://127.0.0.1:{proxy.port}/api", connect_timeout=0.5)
        host = WorkerHost([Worker(f"outage_{uid}", log_fixtures.chatty)], config, environ={})
        host.start_processes()
        try:
            wait_for(lambda: host.health(max_silence=2)["healthy"], 30, "the worker to reach the server")
            proxy.down()
            wait_for(lambda: "poll for" in _messages(captured), 30, "a failed poll in the log")
            proxy.up()
            wait_for(lambda: "reconnected after" in _messages(captured), 60, "the reconnected line")
        finally:
            host.stop_processes(timeout=20)
    line = next(r for r in captured if "reconnected after" in r.getMessage())
    assert line.levelno == logging.INFO and re.search(r"reconnected after \d+\.\d s", line.getMessage())
    assert getattr(line, "worker", None) == f"outage_{uid}" and line.process != os.getpid()  # from the worker


class _HtmlServer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>" + b"x" * 5000 + b"</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_url_that_is_not_a_conductor_server_gets_a_hint_on_one_short_line(
    uid: str, captured: List[logging.LogRecord]
) -> None:
    web = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlServer)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        config = Configuration(server_api_url=f"http://127.0.0.1:{web.server_address[1]}/api", dialect="tasks")
        host = WorkerHost([Worker(f"html_{uid}", log_fixtures.chatty)], config, environ={})
        host.start_processes()
        try:
            wait_for(lambda: "poll for" in _messages(captured), 30, "a failed poll in the log")
        finally:
            host.stop_processes(timeout=20)
    finally:
        web.shutdown()
        web.server_close()
    line = next(r.getMessage() for r in captured if "poll for" in r.getMessage())
    assert "HTML page" in line and "a Conductor server" in line
    assert "\n" not in line and "xxxxx" not in line and len(line) < 400


def test_a_404_on_a_url_without_api_hints_at_it_once(embedded_server_url: str) -> None:
    root = embedded_server_url[: -len("/api")]
    with pytest.raises(ConductorApiError) as caught:  # a real 404 from a URL that lacks /api
        TaskClient(Configuration(server_api_url=root, dialect="tasks")).batch_poll("x", count=1, timeout_ms=0)
    line = short_error(caught.value, root)
    assert caught.value.status == 404 and "/api" in line  # the API client's hint, kept...
    assert line == " ".join(str(caught.value).split())  # ...and not said twice
    # A 404 where the URL has /api (a task id the server does not know) is no sign of a wrong URL.
    unknown = ConductorApiError(404, "Task not found", method="GET", url=f"{embedded_server_url}/tasks/x")
    assert short_error(unknown, embedded_server_url) == str(unknown)
    long = ConductorApiError(500, "boom " * 200 + "\nsecond line")
    assert "\n" not in short_error(long) and len(short_error(long)) <= 200


def test_failure_tracebacks_are_rate_limited_per_task_type(captured: List[logging.LogRecord]) -> None:
    for i in range(failure_log.TRACEBACKS_PER_WINDOW + 3):
        failure_log.report("flaky_type", f"t{i}", "ValueError: no", "Traceback ...\nValueError: no", False)
    failure_log.report("other_type", "u1", "KeyError: k", "Traceback ...", True)
    shown = [r for r in captured if "failed" in r.getMessage()]
    assert len([r for r in shown if "flaky_type" in r.getMessage()]) == failure_log.TRACEBACKS_PER_WINDOW
    terminal = [r for r in shown if "other_type" in r.getMessage()]
    assert len(terminal) == 1 and terminal[0].levelno == logging.ERROR


def test_a_level_the_application_set_in_the_host_applies_in_the_worker_processes(
    embedded_server_url: str, uid: str
) -> None:
    """The application sets its logger to INFO (root stays at WARNING) after importing its workers, as a program
    does under its ``__main__`` guard: worker processes never run that code, yet the level holds there."""
    config = Configuration(server_api_url=embedded_server_url)
    name = f"levels_{uid}"
    _define(config, name)
    records: List[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    app_logger = logging.getLogger("myworkers")
    handler = Keep()
    saved = app_logger.level
    app_logger.setLevel(logging.INFO)
    app_logger.addHandler(handler)
    try:
        host = WorkerHost([Worker(name, log_fixtures.chatty)], config, log_level=None, environ={})
        host.start_processes()
        try:
            wid = WorkflowClient(config).start_workflow(name, {"n": 9})
            wait_for(lambda: any("n=9" in r.getMessage() for r in records), 30, "the worker's INFO record")
        finally:
            host.stop_processes(timeout=20)
    finally:
        app_logger.removeHandler(handler)
        app_logger.setLevel(saved)
    (record,) = [r for r in records if "n=9" in r.getMessage()]
    task = WorkflowClient(config).get_workflow(wid).tasks[0]
    assert record.levelno == logging.INFO and record.name == "myworkers.orders"
    assert getattr(record, "task_id", None) == task.task_id and record.process != os.getpid()
