"""The loop inside a worker process, run in-process against the embedded server."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Iterator, List, Optional, Tuple

import pytest

from swift_conductor import Configuration, Task, TaskResult, Worker, WorkflowClient
from swift_conductor.automation.result_sender import ResultSender
from swift_conductor.automation.task_runner import TaskRunner
from swift_conductor.clients import MetadataClient, TaskClient
from swift_conductor.http.errors import ServerError
from swift_conductor.http.models import TaskDef, WorkflowDef, WorkflowTask
from swift_conductor.http.models.task_result_status import TaskResultStatus
from swift_conductor.worker.settings import WorkerSettings

from ..support.proxy import FaultProxy, split_url
from ..support.waiting import wait_for


class RecordingTaskClient(TaskClient):
    """A real client that remembers each batch poll's count, and can fail the next N polls."""

    def __init__(self, configuration: Configuration) -> None:
        super().__init__(configuration)
        self.counts: List[int] = []
        self.fail_next = 0

    def batch_poll(self, task_type: str, **kwargs: Any) -> List[Task]:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected bug in the poll path")
        self.counts.append(kwargs["count"])
        return super().batch_poll(task_type, **kwargs)


@pytest.fixture
def env(embedded_server_url: str, uid: str) -> Iterator[Tuple[Configuration, str]]:
    config = Configuration(server_api_url=embedded_server_url)
    name = f"runner_{uid}"
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name=name,
                tasks=[WorkflowTask(name=name, task_reference_name="t", input_parameters={"n": "${workflow.input.n}"})],
            )
        ]
    )
    yield config, name


def start(config: Configuration, name: str, count: int) -> List[str]:
    client = WorkflowClient(config)
    return [client.start_workflow(name, {"n": i}) for i in range(count)]


def all_done(config: Configuration, ids: List[str]) -> bool:
    client = WorkflowClient(config)
    return all(client.get_workflow(i, include_tasks=False).status == "COMPLETED" for i in ids)


@contextlib.contextmanager
def running(runner: TaskRunner) -> Iterator[threading.Thread]:
    """The runner's loop in a thread for the block; stopped (and drained) when the block ends."""
    thread = threading.Thread(target=runner.run, kwargs={"grace_period": 10}, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        runner.stop()
        thread.join(15)


def wait(check: Any, timeout: float = 20) -> None:
    wait_for(check, timeout, "the runner")


def double(n: int) -> int:
    return 2 * n


def sleepy(n: int) -> int:
    time.sleep(0.3)
    return n


def test_a_busy_queue_drains_without_the_polling_interval_between_tasks(env: Tuple[Configuration, str]) -> None:
    config, name = env
    ids = start(config, name, 5)
    settings = WorkerSettings(task_name=name, polling_interval=60_000)  # one empty poll would stall a minute
    runner = TaskRunner(Worker(name, double), [settings], config)
    with running(runner):
        wait(lambda: all_done(config, ids), timeout=30)
    assert runner.completed == 5


def test_polls_ask_only_for_free_slots(env: Tuple[Configuration, str]) -> None:
    config, name = env
    ids = start(config, name, 6)
    client = RecordingTaskClient(config)
    runner = TaskRunner(Worker(name, sleepy), [WorkerSettings(task_name=name, thread_count=4)], client=client)
    with running(runner):
        wait(lambda: all_done(config, ids))
    assert client.counts[0] == 4
    assert all(1 <= c <= 4 for c in client.counts)
    assert runner.completed == 6


def test_paused_is_asked_before_every_poll(env: Tuple[Configuration, str]) -> None:
    config, name = env
    gate = threading.Event()

    class Gated(Worker):
        def paused(self) -> bool:
            return not gate.is_set()

    ids = start(config, name, 2)
    client = RecordingTaskClient(config)
    runner = TaskRunner(Gated(name, double), [WorkerSettings(task_name=name, polling_interval=20)], client=client)
    with running(runner):
        time.sleep(0.5)
        assert client.counts == [] and runner.completed == 0
        gate.set()
        wait(lambda: all_done(config, ids))


def test_an_unexpected_error_in_the_loop_is_logged_and_the_loop_goes_on(
    env: Tuple[Configuration, str], caplog: pytest.LogCaptureFixture
) -> None:
    config, name = env
    ids = start(config, name, 2)
    client = RecordingTaskClient(config)
    client.fail_next = 2
    runner = TaskRunner(Worker(name, double), [WorkerSettings(task_name=name)], client=client)
    with caplog.at_level(logging.ERROR, logger="swift_conductor"):
        with running(runner):
            wait(lambda: all_done(config, ids))
    assert client.fail_next == 0 and runner.completed == 2  # both failures happened, and the loop went on
    logged = [r.exc_info[1] for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert [str(e) for e in logged] == ["injected bug in the poll path"] * 2  # each with its traceback


def test_stop_drains_in_flight_tasks_and_reports_them(env: Tuple[Configuration, str]) -> None:
    config, name = env
    ids = start(config, name, 2)
    runner = TaskRunner(Worker(name, sleepy), [WorkerSettings(task_name=name, thread_count=2)], config)
    with running(runner) as thread:
        wait(lambda: runner.in_flight == 2)
    assert not thread.is_alive()
    assert all_done(config, ids)


def test_a_result_the_server_refuses_is_logged_with_the_task_id(
    env: Tuple[Configuration, str], caplog: pytest.LogCaptureFixture
) -> None:
    config, name = env
    (wid,) = start(config, name, 1)
    client = TaskClient(config)
    task = client.poll(name)
    assert task is not None and task.task_id
    WorkflowClient(config).terminate(wid, reason="gone")
    WorkflowClient(config).remove(wid)
    sender = ResultSender(client)
    with caplog.at_level(logging.ERROR, logger="swift_conductor"):
        sender.submit(TaskResult(task_id=task.task_id, workflow_instance_id=wid, status=TaskResultStatus.COMPLETED))
        assert sender.flush(time.monotonic() + 10) == 0
    assert (sender.refused, sender.delivered) == (1, 0)
    assert any(r.levelno == logging.ERROR and task.task_id in r.getMessage() for r in caplog.records)


class RefusingClient(TaskClient):
    """A real client whose server refuses COMPLETED results for good, as Conductor does for an unstorable
    output (a 500 marked retryable: false); everything else goes to the real server."""

    def __init__(self, configuration: Configuration) -> None:
        super().__init__(configuration)
        self.sent: List[str] = []

    def update_task(self, result: TaskResult) -> str:
        self.sent.append(str(result.status))
        if result.status is TaskResultStatus.COMPLETED:
            raise ServerError(500, "Non-standard token 'NaN'", retryable=False)
        return super().update_task(result)


def test_a_result_refused_for_good_is_replaced_by_a_failure(env: Tuple[Configuration, str]) -> None:
    config, name = env
    (wid,) = start(config, name, 1)
    client = RefusingClient(config)
    task = client.poll(name)
    assert task is not None
    sender = ResultSender(client)
    sender.submit(TaskResult(task_id=task.task_id, workflow_instance_id=wid, status=TaskResultStatus.COMPLETED))
    assert sender.flush(time.monotonic() + 10) == 0
    assert client.sent == ["COMPLETED", "FAILED"]
    workflow = WorkflowClient(config).get_workflow(wid)
    assert workflow.status == "FAILED"
    assert "the server refused the worker's result" in (workflow.tasks[0].reason_for_incompletion or "")


def test_transient_failures_are_retried_until_shutdown_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    config = Configuration(server_api_url="http://127.0.0.1:9/api", connect_timeout=0.5)  # nothing listens there
    sender = ResultSender(TaskClient(config))
    with caplog.at_level(logging.WARNING, logger="swift_conductor"):
        sender.submit(TaskResult(task_id="t-1", workflow_instance_id="w-1", status=TaskResultStatus.COMPLETED))
        wait(lambda: len([r for r in caplog.records if r.levelno == logging.WARNING]) >= 2)  # two failed tries
        assert sender.backlog == 1 and sender.delivered == 0
        assert sender.flush(time.monotonic() + 1.2) == 1
    assert any(r.levelno == logging.ERROR and "t-1" in r.getMessage() for r in caplog.records)  # lost: named


async def async_double(n: int) -> int:
    import asyncio

    await asyncio.sleep(0.05)
    return 2 * n


def test_an_async_worker_runs_through_the_task_runner(env: Tuple[Configuration, str]) -> None:
    config, name = env
    ids = start(config, name, 4)
    runner = TaskRunner(Worker(name, async_double), [WorkerSettings(task_name=name, thread_count=2)], config)
    with running(runner):
        wait(lambda: all_done(config, ids))
    workflows = WorkflowClient(config)
    assert [workflows.get_workflow(i).tasks[0].output_data for i in ids] == [{"result": 2 * n} for n in range(4)]
    assert runner.completed == 4


class UpdatesThroughProxy(RecordingTaskClient):
    """Polls go straight to the server, results through a fault proxy that the test can take down."""

    def __init__(self, configuration: Configuration, updates: Configuration) -> None:
        super().__init__(configuration)
        self.updates = TaskClient(updates)

    def update_task(self, result: TaskResult) -> str:
        return self.updates.update_task(result)

    def update_task_v2(self, result: TaskResult) -> Optional[Task]:
        return self.updates.update_task_v2(result)


def test_results_that_cannot_be_delivered_stop_polling(env: Tuple[Configuration, str]) -> None:
    config, name = env
    total = 14
    ids = start(config, name, total)
    with FaultProxy(*split_url(config.server_api_url)) as proxy:
        proxy.down()
        updates = Configuration(server_api_url=f"http://127.0.0.1:{proxy.port}/api", connect_timeout=0.5)
        client = UpdatesThroughProxy(config, updates)
        runner = TaskRunner(Worker(name, double), [WorkerSettings(task_name=name, polling_interval=20)], client=client)
        with running(runner):
            wait(lambda: runner.sender.backlog >= runner.max_backlog)
            # Without backpressure the loop (20 ms between empty polls, instant tasks) would take every task in
            # this second; with it, at most one poll that had already passed the check when the backlog filled.
            time.sleep(1.0)
            taken = runner.completed
            assert runner.max_backlog <= taken <= runner.max_backlog + runner.thread_count < total
            scheduled = [WorkflowClient(config).get_workflow(i).tasks[0].status for i in ids].count("SCHEDULED")
            assert scheduled >= total - runner.max_backlog - runner.thread_count  # left for other workers
            proxy.up()
            wait(lambda: all_done(config, ids), timeout=60)
    assert runner.completed == total


def test_the_poll_loop_is_not_woken_per_task_while_update_v2_brings_them(env: Tuple[Configuration, str]) -> None:
    config, name = env
    total = 20
    ids = start(config, name, total)
    runner = TaskRunner(Worker(name, double), [WorkerSettings(task_name=name, thread_count=1)], config)
    with running(runner):
        wait(lambda: all_done(config, ids), timeout=30)
    assert runner.update_v2 is True and runner.received_v2 >= total // 2  # most tasks came by update-v2...
    # ...and taking them changed nothing the polling loop waits for: it was woken a few times, not per task.
    assert runner.slot_wakeups < total // 4


class ProbeCountingClient(RecordingTaskClient):
    """Counts the update-v2 probes besides the polls."""

    def __init__(self, configuration: Configuration) -> None:
        super().__init__(configuration)
        self.probes = 0

    def supports_update_v2(self) -> Optional[bool]:
        self.probes += 1
        return super().supports_update_v2()


def test_an_unreachable_server_gets_one_request_per_backoff(uid: str) -> None:
    config = Configuration(server_api_url="http://127.0.0.1:9/api", connect_timeout=0.5)  # nothing listens there
    client = ProbeCountingClient(config)
    runner = TaskRunner(Worker(f"down_{uid}", double), [WorkerSettings(task_name=f"down_{uid}")], client=client)
    with running(runner):
        wait(lambda: len(client.counts) >= 4)  # four polls failed, with backoff between them
    assert runner.update_v2 is None  # never learnt: the server never answered
    assert client.probes == 1  # asked before the first poll only, not again before each failing poll


def test_a_reporter_is_started_only_when_every_reporter_has_a_result(env: Tuple[Configuration, str]) -> None:
    config, name = env
    ids = start(config, name, 3)
    client = TaskClient(config)
    tasks: List[Task] = []
    wait(lambda: tasks.extend(client.batch_poll(name, count=3 - len(tasks), timeout_ms=100)) or len(tasks) == 3)
    sender = ResultSender(client, reporters=4)
    for done, task in enumerate(tasks, start=1):  # one at a time: the one reporter is free each time
        result = TaskResult(task_id=task.task_id, workflow_instance_id=task.workflow_instance_id)
        result.status = TaskResultStatus.COMPLETED
        sender.submit(result)
        wait(lambda: sender.delivered == done and sender.backlog == 0)  # noqa: B023 (waited for here)
    assert sender.reporter_threads == 1
    assert sender.flush(time.monotonic() + 10) == 0
    wait(lambda: all_done(config, ids))


def test_reporters_are_added_while_results_wait_up_to_the_limit() -> None:
    config = Configuration(server_api_url="http://127.0.0.1:9/api", connect_timeout=0.5)  # nothing listens there
    sender = ResultSender(TaskClient(config), reporters=3)
    for i in range(5):  # none can be delivered, so every result stays in the backlog
        sender.submit(TaskResult(task_id=f"t-{i}", workflow_instance_id="w", status=TaskResultStatus.COMPLETED))
        assert sender.reporter_threads == min(i + 1, 3)
    assert sender.flush(time.monotonic() + 0.5) == 5
