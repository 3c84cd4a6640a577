"""Failures, retries and their delays, terminal errors, callbacks, lease extension and response timeouts."""

from __future__ import annotations

import time

import pytest
from conformance_harness import Harness

from swift_conductor.http.models.task_result_status import TaskResultStatus

pytestmark = pytest.mark.timeout(60)


def test_failed_is_retried_as_new_tasks_then_fails_workflow(conductor: Harness) -> None:
    task = conductor.task_def("a", retry_count=2, retry_delay_seconds=0)
    wf = conductor.workflow("wf", [(task, "t", {})], {"o": "${t.output}"})
    workflow_id = conductor.workflows.start_workflow(wf, {})
    seen = []
    for attempt in range(3):
        polled = conductor.poll_one(task)
        seen.append(polled)
        assert polled.retry_count == attempt
        conductor.update(polled, TaskResultStatus.FAILED, reason_for_incompletion=f"boom{attempt}")
    assert len({t.task_id for t in seen}) == 3
    assert [t.retried_task_id for t in seen] == [None, seen[0].task_id, seen[1].task_id]
    doc = conductor.raw_workflow(workflow_id)
    assert doc["status"] == "FAILED"
    last = seen[-1].task_id
    assert doc["reasonForIncompletion"] == f"Task {last} failed with status: FAILED and reason: 'boom2'"
    assert doc["failedReferenceTaskNames"] == ["t"]
    assert doc["output"] == {"o": {}}
    assert [(t["status"], t["retried"], t["seq"]) for t in doc["tasks"]] == [
        ("FAILED", True, 1),
        ("FAILED", True, 2),
        ("FAILED", False, 3),
    ]
    assert [t["reasonForIncompletion"] for t in doc["tasks"]] == ["boom0", "boom1", "boom2"]


def test_reason_null_when_not_given(conductor: Harness) -> None:
    task = conductor.task_def("a")
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    conductor.update(polled, TaskResultStatus.FAILED)
    reason = conductor.workflow_state(workflow_id).reason_for_incompletion
    assert reason == f"Task {polled.task_id} failed with status: FAILED and reason: 'null'"


def test_terminal_error_is_never_retried(conductor: Harness) -> None:
    task = conductor.task_def("a", retry_count=3, retry_delay_seconds=0)
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    conductor.update(polled, TaskResultStatus.FAILED_WITH_TERMINAL_ERROR, reason_for_incompletion="fatal")
    state = conductor.workflow_state(workflow_id)
    assert state.status == "FAILED"
    assert state.reason_for_incompletion == f"Task {polled.task_id} failed with status: FAILED and reason: 'fatal'"
    assert [t.status for t in state.tasks] == ["FAILED_WITH_TERMINAL_ERROR"]
    assert conductor.tasks.poll(task) is None


def test_retry_waits_for_its_delay(conductor: Harness, server_kind: str) -> None:
    task = conductor.task_def("a", retry_count=1, retry_delay_seconds=1)
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    first = conductor.poll_one(task)
    conductor.update(first, TaskResultStatus.FAILED, output_data={"partial": 1})
    failed_at = time.monotonic()
    retry = conductor.raw_tasks(workflow_id)[1]
    assert retry["status"] == "SCHEDULED"
    assert retry["retryCount"] == 1 and retry["retriedTaskId"] == first.task_id
    assert retry["callbackAfterSeconds"] == 1  # the retry delay shows here
    if server_kind == "oss":  # OSS 3.32 starts the retry with an empty output
        assert retry["outputData"] == {}
    else:  # Netflix 3.15 (and the embedded server) copy the failed attempt's output
        assert retry["outputData"] == {"partial": 1}
    assert conductor.tasks.queue_sizes(task) == {task: 1}
    assert conductor.tasks.poll(task) is None
    again = conductor.poll_until(task, timeout=5)
    assert time.monotonic() - failed_at >= 0.9
    assert again.task_id == retry["taskId"]


@pytest.mark.parametrize(
    ("logic", "scale", "delays"),
    [("LINEAR_BACKOFF", 1, [1, 2, 3]), ("LINEAR_BACKOFF", 2, [2, 4, 6]), ("EXPONENTIAL_BACKOFF", 1, [1, 2, 4])],
)
def test_backoff_delays(conductor: Harness, logic: str, scale: int, delays: list) -> None:
    task = conductor.task_def("a", retry_count=3, retry_delay_seconds=1, retry_logic=logic, backoff_scale_factor=scale)
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    seen = []
    for attempt in range(3):
        polled = conductor.poll_one(task) if attempt == 0 else conductor.poll_until(task, timeout=10)
        conductor.update(polled, TaskResultStatus.FAILED)
        seen.append(conductor.raw_tasks(workflow_id)[attempt + 1]["callbackAfterSeconds"])
    assert seen == delays
    conductor.workflows.terminate(workflow_id, "test over")


def test_in_progress_with_callback_redelivers_same_task(conductor: Harness) -> None:
    task = conductor.task_def("a")
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task, worker_id="w1")
    conductor.update(polled, TaskResultStatus.IN_PROGRESS, callback_after_seconds=1, output_data={"a": 1, "b": 2})
    sent_at = time.monotonic()
    waiting = conductor.tasks.get_task(polled.task_id or "")
    assert waiting is not None
    assert (waiting.status, waiting.callback_after_seconds, waiting.output_data) == ("SCHEDULED", 1, {"a": 1, "b": 2})
    assert conductor.tasks.queue_sizes(task) == {task: 1}
    assert conductor.tasks.poll(task) is None
    again = conductor.poll_until(task, timeout=5, worker_id="w2")
    assert time.monotonic() - sent_at >= 0.9
    assert (again.task_id, again.poll_count, again.worker_id, again.status) == (polled.task_id, 2, "w2", "IN_PROGRESS")
    assert again.callback_after_seconds == 0
    # outputData is replaced, not merged
    conductor.update(again, TaskResultStatus.IN_PROGRESS, output_data={"c": 3})
    third = conductor.poll_one(task)  # callback 0: at once
    assert (third.task_id, third.poll_count, third.output_data) == (polled.task_id, 3, {"c": 3})
    conductor.complete(third, {"d": 4})
    assert conductor.workflow_state(workflow_id).status == "COMPLETED"


def test_extend_lease_only_refreshes_update_time(conductor: Harness) -> None:
    task = conductor.task_def("a")
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    time.sleep(0.01)
    conductor.update(polled, TaskResultStatus.COMPLETED, extend_lease=True, output_data={"x": 1})
    got = conductor.tasks.get_task(polled.task_id or "")
    assert got is not None
    assert (got.status, got.output_data) == ("IN_PROGRESS", {})
    assert (got.update_time or 0) > (polled.update_time or 0)
    assert conductor.workflow_state(workflow_id).status == "RUNNING"


def test_response_timeout_times_out_and_retries(conductor: Harness) -> None:
    task = conductor.task_def("a", retry_count=1, retry_delay_seconds=0, response_timeout_seconds=1)
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    first = conductor.poll_one(task)
    time.sleep(1.3)
    conductor.workflows.decide(workflow_id)  # the real server's sweeper may take ~60 s; decide forces the check
    doc = conductor.raw_workflow(workflow_id)
    assert doc["status"] == "RUNNING"
    timed_out, retry = doc["tasks"]
    assert timed_out["status"] == "TIMED_OUT"
    assert timed_out["reasonForIncompletion"] == (
        f"responseTimeout: 1 exceeded for the taskId: {first.task_id} with Task Definition: {task}"
    )
    assert (retry["status"], retry["retryCount"], retry["retriedTaskId"]) == ("SCHEDULED", 1, first.task_id)
    # a late result for the timed-out attempt is ignored
    assert conductor.complete(first, {"late": True}) == first.task_id
    assert conductor.raw_tasks(workflow_id)[0]["status"] == "TIMED_OUT"
    second = conductor.poll_one(task)
    assert second.task_id == retry["taskId"]
    time.sleep(1.3)
    conductor.workflows.decide(workflow_id)
    state = conductor.workflow_state(workflow_id)
    assert state.status == "TIMED_OUT"
    assert state.reason_for_incompletion == (
        f"Task {second.task_id} failed with status: TIMED_OUT and reason: 'responseTimeout: 1 exceeded for the "
        f"taskId: {second.task_id} with Task Definition: {task}'"
    )


def _keep_alive_attempt(conductor: Harness, task: str, timeout_ms: int) -> bool:
    """Renew a task's lease often, forcing the timeout check after each renewal, until it has outlived two
    response timeouts. Judged on the server's own timestamps (same host clock): True when every renewal and check
    provably happened before the previous lease ran out; False when the machine stalled so long that they may not
    have (the outcome is then legitimately either, so nothing is asserted)."""
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.poll_one(task)
    first = lease = polled.update_time or 0
    while lease - first < 2 * timeout_ms:
        time.sleep(0.1)
        conductor.update(polled, TaskResultStatus.COMPLETED, extend_lease=True)
        conductor.workflows.decide(workflow_id)  # check the timeout now rather than when the sweeper comes by
        checked_by = int(time.time() * 1000)
        if checked_by - lease >= timeout_ms:
            return False
        got = conductor.tasks.get_task(polled.task_id or "")
        assert got is not None and got.status == "IN_PROGRESS"
        assert (got.update_time or 0) > lease  # the renewal moved the lease
        lease = got.update_time or 0
    conductor.complete(polled)
    assert conductor.workflow_state(workflow_id).status == "COMPLETED"
    return True


def test_in_progress_updates_keep_a_task_alive(conductor: Harness) -> None:
    task = conductor.task_def("a", response_timeout_seconds=1)
    for _ in range(3):
        if _keep_alive_attempt(conductor, task, 1000):
            return
    pytest.fail("every attempt stalled for a whole response timeout: the machine is too busy to tell")


def test_unregistered_task_gets_ad_hoc_definition(conductor: Harness) -> None:
    task = conductor.name("adhoc")  # never registered
    workflow_id = conductor.workflows.start_workflow(conductor.single_task_workflow(task), {})
    polled = conductor.raw.get(f"tasks/poll/{task}").json()
    assert polled["responseTimeoutSeconds"] == 3600
    td = polled["workflowTask"]["taskDefinition"]
    assert (td["retryCount"], td["retryDelaySeconds"], td["retryLogic"]) == (3, 60, "FIXED")
    assert (td["responseTimeoutSeconds"], td["timeoutSeconds"]) == (3600, 0)
    conductor.raw.post(
        "tasks", json={"taskId": polled["taskId"], "workflowInstanceId": workflow_id, "status": "FAILED"}
    )
    retry = conductor.raw_tasks(workflow_id)[1]
    assert (retry["status"], retry["callbackAfterSeconds"], retry["retryCount"]) == ("SCHEDULED", 60, 1)
    assert conductor.tasks.poll(task) is None
    conductor.workflows.terminate(workflow_id)


@pytest.mark.parametrize("status", [TaskResultStatus.FAILED, TaskResultStatus.FAILED_WITH_TERMINAL_ERROR])
def test_optional_task_failure_lets_the_workflow_continue(conductor: Harness, status: TaskResultStatus) -> None:
    a, b = conductor.task_def("a"), conductor.task_def("b")
    wf = conductor.name("wf")
    conductor.raw.put(
        "metadata/workflow",
        json=[
            {
                "name": wf,
                "version": 1,
                "schemaVersion": 2,
                "tasks": [
                    {"name": a, "taskReferenceName": "a", "optional": True},
                    {"name": b, "taskReferenceName": "b", "inputParameters": {"s": "${a.status}"}},
                ],
            }
        ],
    ).raise_for_status()
    workflow_id = conductor.workflows.start_workflow(wf, {})
    conductor.update(conductor.poll_one(a), status, reason_for_incompletion="optional failed")
    second = conductor.poll_one(b)
    assert second.input_data == {"s": "COMPLETED_WITH_ERRORS"}
    conductor.complete(second)
    state = conductor.workflow_state(workflow_id)
    assert state.status == "COMPLETED"
    assert [t.status for t in state.tasks] == ["COMPLETED_WITH_ERRORS", "COMPLETED"]
