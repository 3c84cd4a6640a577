"""current_task(): the task a function worker runs, for sync and async workers, in tests and on a server."""

from __future__ import annotations

import pytest

from swift_conductor import (
    Configuration,
    MetadataClient,
    Task,
    TaskClient,
    TaskDef,
    Worker,
    WorkerHost,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
    current_task,
    execute_task,
)

from ..support.waiting import wait_for
from . import context_fixtures


def _task(**extra: object) -> Task:
    return Task(task_id="t1", workflow_instance_id="w1", task_def_name="kind", input_data={"n": 3}, **extra)


def test_a_sync_worker_sees_its_task_and_adds_log_lines() -> None:
    result = execute_task(Worker("kind", context_fixtures.describe), _task(retry_count=2, poll_count=5))
    assert result.status == "COMPLETED"
    assert result.output_data == {
        "task_id": "t1", "workflow_id": "w1", "retry_count": 2, "poll_count": 5, "task_type": "kind",
    }  # fmt: skip
    assert [entry.log for entry in result.logs] == ["working on n=3"]
    assert result.logs[0].task_id == "t1" and result.logs[0].created_time


def test_an_async_worker_sees_its_task() -> None:
    result = execute_task(Worker("kind", context_fixtures.describe_async), _task())
    assert result.status == "COMPLETED" and result.output_data == {"task_id": "t1"}
    assert [entry.log for entry in result.logs] == ["from a coroutine"]


def test_log_lines_survive_a_failure_next_to_the_traceback() -> None:
    result = execute_task(Worker("kind", context_fixtures.log_then_fail), _task())
    assert result.status == "FAILED"
    assert result.logs[0].log == "about to fail" and "RuntimeError: nope" in result.logs[1].log


def test_set_callback_after_reports_in_progress_with_the_output() -> None:
    result = execute_task(Worker("kind", context_fixtures.wait_and_come_back), _task(poll_count=1))
    assert result.status == "IN_PROGRESS" and result.callback_after_seconds == 1
    assert result.output_data == {"checks": 1}
    done = execute_task(Worker("kind", context_fixtures.wait_and_come_back), _task(poll_count=2))
    assert done.status == "COMPLETED" and not done.callback_after_seconds


def test_outside_a_task_there_is_no_current_task() -> None:
    with pytest.raises(RuntimeError, match="only available while a worker runs a task"):
        current_task()
    execute_task(Worker("kind", context_fixtures.describe), _task())
    with pytest.raises(RuntimeError):
        current_task()  # reset after the task


def test_a_bad_callback_delay_fails_the_task_with_the_reason() -> None:
    def bad(n: int = 0) -> None:
        current_task().set_callback_after(-1)

    result = execute_task(Worker("kind", bad), _task())
    assert result.status == "FAILED" and "seconds must be a whole number >= 0" in result.reason_for_incompletion


def test_on_a_server_the_context_logs_reach_the_task_and_callbacks_come_back(
    server_url: str, server_kind: str, uid: str
) -> None:
    config = Configuration(server_api_url=server_url)
    name, waiting = f"ctx_{uid}", f"ctxwait_{uid}"
    MetadataClient(config).register_task_defs([TaskDef(name=n, retry_count=0) for n in (name, waiting)])
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name=name,
                tasks=[
                    WorkflowTask(name=name, task_reference_name="a", input_parameters={"n": 4}),
                    WorkflowTask(name=waiting, task_reference_name="b"),
                ],
            )
        ]
    )
    workers = [Worker(name, context_fixtures.describe), Worker(waiting, context_fixtures.wait_and_come_back)]
    host = WorkerHost(workers, config, log_level=None, environ={})
    host.start_processes()
    try:
        wid = WorkflowClient(config).start_workflow(name, {})
        done = wait_for(lambda: (w := WorkflowClient(config).get_workflow(wid)).is_terminal and w, 60, "the workflow")
    finally:
        host.stop_processes(timeout=20)
    assert done.status == "COMPLETED"
    first, second = done.tasks
    assert first.output_data["task_id"] == first.task_id and first.output_data["workflow_id"] == wid
    assert first.output_data["task_type"] == name
    assert second.output_data == {"done": True} and second.poll_count >= 2  # handed back after the callback
    if server_kind == "netflix":
        return  # Netflix 3.15 without indexing keeps no task logs
    logs = [entry.log for entry in TaskClient(config).get_task_logs(first.task_id)]
    assert "working on n=4" in logs
