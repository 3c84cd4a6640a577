"""Queues: sizes, poll data, domains (per task type and ``*``), concurrent pollers."""

from __future__ import annotations

import threading
import time
from typing import List

import pytest
from conformance_harness import Harness

from swift_conductor.http.models import StartWorkflowRequest, Task
from swift_conductor.http.models.task_result_status import TaskResultStatus

pytestmark = pytest.mark.timeout(60)


def test_queue_sizes(conductor: Harness) -> None:
    a, b = conductor.task_def("a"), conductor.task_def("b")
    wf = conductor.single_task_workflow(a)
    for _ in range(2):
        conductor.workflows.start_workflow(wf, {})
    assert conductor.tasks.queue_sizes(a, b, conductor.name("never")) == {a: 2, b: 0, conductor.name("never"): 0}
    conductor.poll_one(a)
    assert conductor.tasks.queue_sizes(a) == {a: 1}
    missing = conductor.raw.get("tasks/queue/sizes")
    assert missing.status_code == 500


def test_poll_data(conductor: Harness) -> None:
    task = conductor.task_def("a")
    assert conductor.tasks.poll_data(task) == []
    conductor.tasks.poll(task, worker_id="pd-worker")
    (entry,) = conductor.tasks.poll_data(task)
    assert entry["queueName"] == task
    assert entry["workerId"] == "pd-worker"
    assert entry["lastPollTime"] > 0
    assert "domain" not in entry
    conductor.tasks.poll(task, worker_id="dom-worker", domain="d1")
    entries = {e.get("domain"): e for e in conductor.tasks.poll_data(task)}
    assert set(entries) == {None, "d1"}
    assert entries["d1"]["workerId"] == "dom-worker"
    assert entries["d1"]["queueName"] == task


def test_task_to_domain_routes_to_domain_queue(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    workflow_id = conductor.workflows.start(
        StartWorkflowRequest(name=wf, input={}, task_to_domain={task: "blue"}, correlation_id="c")
    )
    assert conductor.tasks.queue_sizes(task, f"blue:{task}") == {task: 0, f"blue:{task}": 1}
    assert conductor.tasks.poll(task) is None
    assert conductor.tasks.poll(task, domain="green") is None
    polled = conductor.poll_one(task, domain="blue", worker_id="wd")
    assert (polled.domain, polled.worker_id, polled.workflow_instance_id) == ("blue", "wd", workflow_id)
    assert conductor.workflows.get_workflow(workflow_id).task_to_domain == {task: "blue"}


def test_star_domain_applies_to_every_task(conductor: Harness) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    conductor.workflows.start(StartWorkflowRequest(name=wf, input={}, task_to_domain={"*": "star"}))
    assert conductor.tasks.poll(task) is None
    got = conductor.tasks.batch_poll(task, count=3, timeout_ms=100, domain="star")
    assert [t.domain for t in got] == ["star"]


def test_domain_retry_stays_in_domain(conductor: Harness) -> None:
    task = conductor.task_def("a", retry_count=1, retry_delay_seconds=0)
    wf = conductor.single_task_workflow(task)
    conductor.workflows.start(StartWorkflowRequest(name=wf, input={}, task_to_domain={task: "d"}))
    first = conductor.poll_one(task, domain="d")
    conductor.update(first, TaskResultStatus.FAILED)
    retry = conductor.poll_one(task, domain="d")
    assert (retry.retried_task_id, retry.domain) == (first.task_id, "d")


def test_empty_domain_parameter_is_a_different_queue(conductor: Harness) -> None:
    task = conductor.task_def("a")
    conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    # "domain=" polls a queue named ":type", so the task is not found (clients must omit the parameter)
    assert conductor.raw.get(f"tasks/poll/{task}", params={"domain": ""}).status_code == 204
    assert conductor.tasks.queue_sizes(task) == {task: 1}


def test_concurrent_pollers_get_each_task_once(conductor: Harness, is_embedded: bool) -> None:
    task = conductor.task_def("a")
    wf = conductor.single_task_workflow(task)
    total = 40
    ids = [conductor.workflows.start_workflow(wf, {"i": i}) for i in range(total)]
    got: List[Task] = []
    lock = threading.Lock()
    errors: List[BaseException] = []
    deadline = time.monotonic() + 30

    def poller() -> None:
        # Poll until every task is seen: an empty answer under contention does not mean the queue is drained.
        # Tasks are completed after the polling, not between polls: on a cold real 3.15 server in memory mode,
        # updates racing with concurrent batch polls were seen to lose a popped task for good (CI, 38 of 40).
        try:
            while time.monotonic() < deadline:
                with lock:
                    if len(got) >= total:
                        return
                batch = conductor.tasks.batch_poll(task, count=5, timeout_ms=100)
                with lock:
                    got.extend(batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=poller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=35)
    assert not errors
    assert len({t.task_id for t in got}) == len(got), "a task was delivered twice"
    seen = {t.workflow_instance_id for t in got}
    missing = [conductor.workflows.get_workflow(i) for i in ids if i not in seen]
    if is_embedded:
        assert not missing
    else:
        # The real server's in-memory queue (conductor.queue.type=memory) can lose a queue entry when batch
        # polls race: on a cold server 2-3 of 40 tasks stayed SCHEDULED, never handed to anyone, for 30 s. We
        # check that nothing worse happens (no task handed out twice, none lost while IN_PROGRESS).
        assert len(missing) <= total // 4, f"{len(missing)} of {total} tasks not delivered"
        assert all([t.status for t in wf.tasks] == ["SCHEDULED"] and wf.tasks[0].poll_count == 0 for wf in missing)
        for wf in missing:
            conductor.workflows.terminate(wf.workflow_id or "", "queue entry lost by the server")
    for t in got:
        conductor.complete(t, {"ok": True})
    assert {conductor.workflows.get_workflow(i, include_tasks=False).status for i in seen} == {"COMPLETED"}


def test_a_domain_fallback_list_picks_the_active_domain_else_the_last(conductor: Harness) -> None:
    task = conductor.task_def("fallback")
    wf = conductor.single_task_workflow(task)
    first, second = conductor.name("d1"), conductor.name("d2")
    request = StartWorkflowRequest(name=wf, input={}, task_to_domain={task: f"{first},{second}"})
    idle = conductor.workflows.start(request)  # nobody polled either domain: the last one
    assert conductor.workflow_state(idle).tasks[0].domain == second
    assert conductor.tasks.poll(task, domain=first) is None  # ...and now the first one is active
    active = conductor.workflows.start(request)
    assert conductor.workflow_state(active).tasks[0].domain == first
    assert conductor.poll_one(task, domain=first).workflow_instance_id == active
    assert conductor.poll_one(task, domain=second).workflow_instance_id == idle
