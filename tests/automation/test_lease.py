"""Lease extension keeps a task that outlives responseTimeoutSeconds alive, on both servers, per task name."""

from __future__ import annotations

import threading
import time
from typing import List

from swift_conductor import Configuration, Worker, WorkflowClient
from swift_conductor.automation.task_runner import TaskRunner
from swift_conductor.clients import MetadataClient
from swift_conductor.http.models import TaskDef, WorkflowDef, WorkflowTask
from swift_conductor.worker.settings import WorkerSettings, resolve_settings

from ..support.waiting import wait_for


def slow(n: int) -> int:
    time.sleep(7)
    return n


def define(config: Configuration, name: str, response_timeout: int) -> None:
    MetadataClient(config).register_task_defs(
        [
            TaskDef(
                name=name,
                retry_count=0,
                retry_delay_seconds=0,
                response_timeout_seconds=response_timeout,
                timeout_seconds=60,
            )
        ]
    )
    task = WorkflowTask(name=name, task_reference_name="t", input_parameters={"n": "${workflow.input.n}"})
    MetadataClient(config).upsert_workflow_defs([WorkflowDef(name=name, tasks=[task])])


def run_until_terminal(runner: TaskRunner, workflows: WorkflowClient, ids: List[str]) -> None:
    thread = threading.Thread(target=runner.run, kwargs={"grace_period": 10}, daemon=True)
    thread.start()

    def all_terminal() -> bool:
        for wid in ids:
            workflows.decide(wid)  # makes the server check response timeouts now
        return all(workflows.get_workflow(wid).is_terminal for wid in ids)

    try:
        wait_for(all_terminal, 30, "the workflows to end", interval=0.5)
    finally:
        runner.stop()
        thread.join(15)


def test_a_long_task_with_extend_lease_is_not_timed_out(server_url: str, uid: str) -> None:
    config = Configuration(server_api_url=server_url)
    name = f"lease_{uid}"
    define(config, name, response_timeout=3)
    workflows = WorkflowClient(config)
    wid = workflows.start_workflow(name, {"n": 3})
    settings = WorkerSettings(task_name=name, extend_lease=True)
    run_until_terminal(TaskRunner(Worker(name, slow), [settings], config), workflows, [wid])
    workflow = workflows.get_workflow(wid)
    assert workflow.status == "COMPLETED"
    assert [t.status for t in workflow.tasks] == ["COMPLETED"], "no TIMED_OUT attempt, no retry"


def quick_slow(n: int) -> int:
    time.sleep(4)
    return n


def test_extend_lease_is_honoured_per_task_name(embedded_server_url: str, uid: str) -> None:
    """One worker, two names, extend_lease set for one name only: only that name's leases are extended."""
    config = Configuration(server_api_url=embedded_server_url)
    on, off = f"lease_on_{uid}", f"lease_off_{uid}"
    for name in (on, off):
        define(config, name, response_timeout=2)
    workflows = WorkflowClient(config)
    ids = [workflows.start_workflow(on, {"n": 1}), workflows.start_workflow(off, {"n": 2})]
    worker = Worker([on, off], quick_slow, thread_count=2)
    env = {f"conductor_worker_{on}_extend_lease": "true"}
    settings = [resolve_settings(worker, name, None, env) for name in worker.polled_task_names()]
    assert [s.extend_lease for s in settings] == [True, False]
    run_until_terminal(TaskRunner(worker, settings, config), workflows, ids)
    extended, not_extended = (workflows.get_workflow(wid) for wid in ids)
    assert extended.status == "COMPLETED" and [t.status for t in extended.tasks] == ["COMPLETED"]
    assert not_extended.status != "COMPLETED"
    assert [t.status for t in not_extended.tasks] == ["TIMED_OUT"]
