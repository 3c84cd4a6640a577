"""WorkerHost.health() reflects whether each worker process still reaches the server."""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable, Dict

import pytest

from swift_conductor import Configuration, Worker, WorkerHost
from swift_conductor.automation import supervisor

from ..support.proxy import FaultProxy, split_url
from ..support.waiting import wait_for
from ..worker.binding_fixtures import Doubler


def eventually(check: Callable[[], Any], timeout: float = 30) -> Any:
    return wait_for(check, timeout, "the health report to change")


def test_health_follows_the_server_going_away_and_coming_back(embedded_server_url: str, uid: str) -> None:
    with FaultProxy(*split_url(embedded_server_url)) as proxy:
        config = Configuration(server_api_url=f"http://127.0.0.1:{proxy.port}/api", connect_timeout=0.5)
        host = WorkerHost([Worker(f"health_{uid}", Doubler())], config, log_level=None, environ={})
        assert host.health()["healthy"] is False  # nothing started yet
        host.start_processes()
        try:
            report = eventually(lambda: (h := host.health(max_silence=2))["healthy"] and h)
            (worker,) = report["workers"]
            assert worker["alive"] and worker["tasks"] == [f"health_{uid}"] and worker["restarts"] == 0
            proxy.down()
            eventually(lambda: not host.health(max_silence=2)["healthy"])
            assert host.health()["workers"][0]["alive"]  # alive, but not reaching the server
            proxy.up()
            eventually(lambda: host.health(max_silence=2)["healthy"])
        finally:
            host.stop_processes(timeout=20)
        assert not host.health()["workers"][0]["alive"]


def test_a_worker_busy_with_a_long_task_stays_healthy(embedded_server_url: str, uid: str) -> None:
    from swift_conductor import MetadataClient, TaskDef, WorkflowClient, WorkflowDef, WorkflowTask

    from ..worker.binding_fixtures import slow_double

    config = Configuration(server_api_url=embedded_server_url)
    name = f"busy_{uid}"
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="t")])]
    )
    host = WorkerHost([Worker(name, slow_double, poll_interval=5000)], config, log_level=None, environ={})
    host.start_processes()
    try:
        eventually(lambda: host.health(max_silence=2)["healthy"])
        wid = WorkflowClient(config).start_workflow(name, {})
        eventually(lambda: WorkflowClient(config).get_workflow(wid).tasks[0].status == "IN_PROGRESS")
        seen = []

        def finished() -> bool:
            seen.append(host.health(max_silence=2.5)["healthy"])  # busy for 5 s, idle polls 5 s apart
            return WorkflowClient(config).get_workflow(wid).status != "RUNNING"

        wait_for(finished, 30, "the long task to finish", interval=0.25)
        assert len(seen) > 1 and all(seen)
    finally:
        host.stop_processes(timeout=20)


def test_restart_backoff_grows_while_a_process_keeps_dying_and_resets_after_a_healthy_run(
    embedded_server_url: str, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "HEALTHY_AFTER_S", 3.0)  # a run this long counts as healthy
    config = Configuration(server_api_url=embedded_server_url)
    host = WorkerHost([Worker(f"backoff_{uid}", Doubler())], config, log_level=None, environ={})
    host.start_processes()

    def worker() -> Dict[str, Any]:
        return host.health()["workers"][0]

    def kill_and_wait_for_restart(restarts: int) -> float:
        os.kill(worker()["pid"], signal.SIGKILL)
        eventually(lambda: worker()["restarts"] == restarts and worker()["alive"])
        return float(worker()["last_restart_delay"])

    try:
        eventually(lambda: worker()["alive"])
        delays = [kill_and_wait_for_restart(n) for n in (1, 2, 3)]  # each run far shorter than 3 s
        assert delays == [1.0, 2.0, 4.0]
        time.sleep(supervisor.HEALTHY_AFTER_S + 0.5)  # a healthy run...
        assert kill_and_wait_for_restart(4) == 1.0  # ...resets the backoff
    finally:
        host.stop_processes(timeout=20)
