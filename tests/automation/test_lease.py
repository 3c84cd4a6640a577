"""Lease extension keeps a task that outlives responseTimeoutSeconds alive, on both servers."""

from __future__ import annotations

import threading
import time

from swift_conductor import Configuration, Worker, WorkflowClient
from swift_conductor.automation.task_runner import TaskRunner
from swift_conductor.clients import MetadataClient
from swift_conductor.http.models import TaskDef, WorkflowDef, WorkflowTask
from swift_conductor.worker.settings import WorkerSettings


def slow(n: int) -> int:
    time.sleep(7)
    return n


def test_a_long_task_with_extend_lease_is_not_timed_out(server_url: str, uid: str) -> None:
    config = Configuration(server_api_url=server_url)
    name = f"lease_{uid}"
    MetadataClient(config).register_task_defs(
        [TaskDef(name=name, retry_count=1, retry_delay_seconds=0, response_timeout_seconds=3, timeout_seconds=60)]
    )
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name=name,
                tasks=[WorkflowTask(name=name, task_reference_name="t", input_parameters={"n": "${workflow.input.n}"})],
            )
        ]
    )
    workflows = WorkflowClient(config)
    wid = workflows.start_workflow(name, {"n": 3})
    settings = WorkerSettings(task_name=name, extend_lease=True)
    runner = TaskRunner(Worker(name, slow), [settings], config)
    thread = threading.Thread(target=runner.run, kwargs={"grace_period": 10}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workflows.decide(wid)  # makes the server check response timeouts now
            if workflows.get_workflow(wid).is_terminal:
                break
            time.sleep(0.5)
    finally:
        runner.stop()
        thread.join(15)
    workflow = workflows.get_workflow(wid)
    assert workflow.status == "COMPLETED"
    assert [t.status for t in workflow.tasks] == ["COMPLETED"], "no TIMED_OUT attempt, no retry"
    assert runner._leases is not None and runner._leases.extensions >= 2
