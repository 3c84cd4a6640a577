"""The host's HTTP endpoint over real HTTP: liveness, readiness through a server outage, and /metrics."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families

from swift_conductor import (
    Configuration,
    MetadataClient,
    TaskDef,
    Worker,
    WorkerConfigurationError,
    WorkerHost,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
)

from ..support.proxy import FaultProxy, split_url
from ..support.waiting import wait_for
from ..worker.binding_fixtures import Doubler
from . import log_fixtures


def get(host: WorkerHost, path: str) -> Tuple[int, bytes]:
    address = host.http_address
    assert address is not None
    try:
        with urllib.request.urlopen(f"http://{address[0]}:{address[1]}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def probe(host: WorkerHost, path: str) -> Tuple[int, Dict[str, Any]]:
    status, body = get(host, path)
    return status, json.loads(body)


def test_probes_follow_a_server_outage_live_but_not_ready(server_url: str, uid: str) -> None:
    with FaultProxy(*split_url(server_url)) as proxy:
        config = Configuration(server_api_url=f"http://127.0.0.1:{proxy.port}/api", connect_timeout=0.5)
        host = WorkerHost([Worker(f"probe_{uid}", Doubler())], config, log_level=None, environ={}, http_port=0)
        host.start_processes()
        try:
            assert host.http_address is not None and host.http_address[0] == "127.0.0.1"  # loopback by default
            wait_for(lambda: probe(host, "/readyz")[0] == 200, 30, "ready")
            assert probe(host, "/healthz")[0] == 200
            proxy.down()
            wait_for(lambda: probe(host, "/readyz")[0] == 503, 60, "not ready while the server is down")
            status, report = probe(host, "/healthz")
            assert status == 200 and report["live"] and report["workers"][0]["alive"]  # still live
            proxy.up()
            wait_for(lambda: probe(host, "/readyz")[0] == 200, 60, "ready again")
            assert get(host, "/nothing")[0] == 404
        finally:
            host.stop_processes(timeout=20)


def test_liveness_fails_while_a_worker_process_is_down(embedded_server_url: str, uid: str) -> None:
    config = Configuration(server_api_url=embedded_server_url)
    host = WorkerHost([Worker(f"live_{uid}", Doubler())], config, log_level=None, environ={}, http_port=0)
    host.start_processes()
    try:
        wait_for(lambda: probe(host, "/healthz")[0] == 200, 30, "live")
        (pid,) = host.pids
        os.kill(pid, signal.SIGKILL)

        def in_backoff() -> Optional[Dict[str, Any]]:
            status, report = probe(host, "/healthz")
            waiting = status == 503 and report["workers"][0]["restart_in"] is not None
            return report["workers"][0] if waiting else None

        worker = wait_for(in_backoff, 30, "not live while the process waits in restart backoff")
        assert not worker["alive"] and not worker["live"] and worker["pid"] == pid
        wait_for(lambda: probe(host, "/healthz")[0] == 200, 30, "live again after the restart")
        (worker,) = host.health()["workers"]
        assert worker["restarts"] == 1 and worker["restart_in"] is None and worker["pid"] != pid
    finally:
        host.stop_processes(timeout=20)


def _samples(text: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_after_tasks_add_up_across_processes_and_restarts(embedded_server_url: str, uid: str) -> None:
    config = Configuration(server_api_url=embedded_server_url)
    name = f"metered_{uid}"
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name=name,
                tasks=[WorkflowTask(name=name, task_reference_name="t", input_parameters={"n": "${workflow.input.n}"})],
            )
        ]
    )
    workers = [Worker(name, log_fixtures.chatty, thread_count=2), Worker(name, log_fixtures.chatty)]
    host = WorkerHost(workers, config, log_level=None, environ={}, http_port=0)
    assert host.metrics_enabled
    host.start_processes()
    workflows = WorkflowClient(config)
    try:
        ids = [workflows.start_workflow(name, {"n": -1 if i % 10 == 0 else i}) for i in range(40)]
        for wid in ids:
            wait_for(lambda w=wid: workflows.get_workflow(w).is_terminal, 60, "the workflows")

        def counted(key: Tuple[str, Tuple[Tuple[str, str], ...]], value: float) -> bool:
            return _samples(get(host, "/metrics")[1].decode()).get(key) == value

        done = ("conductor_worker_tasks_total", (("outcome", "completed"), ("task_type", name)))
        failed = ("conductor_worker_tasks_total", (("outcome", "failed"), ("task_type", name)))
        wait_for(lambda: counted(done, 36) and counted(failed, 4), 30, "the tasks in /metrics")
        before = _samples(get(host, "/metrics")[1].decode())
        os.kill(host.pids[0], signal.SIGKILL)
        restarts = ("conductor_worker_process_restarts_total", (("task_type", name),))
        wait_for(lambda: counted(restarts, 1), 30, "the restart in /metrics")
        after = _samples(get(host, "/metrics")[1].decode())
    finally:
        host.stop_processes(timeout=20)
    assert after[done] == 36 and after[failed] == 4  # a dead process's counts are kept
    execution = ("conductor_worker_execution_seconds_count", (("task_type", name),))
    update = ("conductor_worker_update_seconds_count", (("task_type", name),))
    assert before[execution] == 40 and before[update] == 40
    received = ("conductor_worker_tasks_received_total", (("task_type", name),))
    polls = ("conductor_worker_polls_total", (("task_type", name),))
    assert before[received] == 40 and before[polls] >= 2
    assert before[("conductor_worker_tasks_in_flight", (("task_type", name),))] == 0
    assert before[("conductor_worker_results_pending", ())] == 0
    labels = {label for (metric, labelset) in before for label, _ in labelset if metric.startswith("conductor_")}
    assert labels <= {"task_type", "outcome", "le"}  # bounded label sets


def test_metrics_are_off_without_the_endpoint_and_a_bad_port_is_refused(embedded_server_url: str) -> None:
    config = Configuration(server_api_url=embedded_server_url)
    host = WorkerHost([Worker("m", Doubler())], config, log_level=None, environ={})
    assert not host.metrics_enabled and host.http_port is None
    with pytest.raises(RuntimeError, match="metrics are off"):
        host.metrics_text()
    env_host = WorkerHost([Worker("m", Doubler())], config, log_level=None, environ={"CONDUCTOR_WORKER_HTTP_PORT": "0"})
    assert env_host.http_port == 0 and env_host.metrics_enabled
    with pytest.raises(WorkerConfigurationError, match="CONDUCTOR_WORKER_HTTP_PORT: 'http' is not a TCP port"):
        WorkerHost([Worker("m", Doubler())], config, environ={"CONDUCTOR_WORKER_HTTP_PORT": "http"})
