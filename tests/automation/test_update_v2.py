"""update-v2 in the runtime: where the server has it, a finished task's result brings the next task, on every
server the runtime completes everything, and a worker with a domain never gets a task of another domain."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Iterator, List, Optional, Set, Tuple

import pytest

from swift_conductor import Configuration, Worker
from swift_conductor.automation.result_sender import ResultSender
from swift_conductor.automation.task_runner import TaskRunner
from swift_conductor.clients import MetadataClient, TaskClient, WorkflowClient
from swift_conductor.errors import ConductorConnectionError
from swift_conductor.http.models import (
    StartWorkflowRequest,
    Task,
    TaskDef,
    TaskResult,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor.http.models.task_result_status import TaskResultStatus
from swift_conductor.worker.settings import WorkerSettings

from ..support.waiting import wait_for

#: Which servers have update-v2 (Netflix 3.15 answers it with a 500 "not supported").
HAS_UPDATE_V2 = {"embedded": True, "netflix": False, "oss": True}


def add_one(n: int) -> dict:
    return {"n": n + 1}


@contextlib.contextmanager
def running(runner: TaskRunner) -> Iterator[None]:
    thread = threading.Thread(target=runner.run, kwargs={"grace_period": 20}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        runner.stop()
        thread.join(30)
    assert not thread.is_alive()


def setup(config: Configuration, name: str) -> None:
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name=name,
                tasks=[WorkflowTask(name=name, task_reference_name="t", input_parameters={"n": "${workflow.input.n}"})],
                output_parameters={"n": "${t.output.n}"},
            )
        ]
    )


def statuses(config: Configuration, ids: List[str]) -> List[str]:
    client = WorkflowClient(config)
    return [str(client.get_workflow(i, include_tasks=False).status) for i in ids]


def queued(server_url: str, name: str, count: int) -> Tuple[Configuration, List[str]]:
    """The workflow of one task ``name``, defined and started ``count`` times: (configuration, workflow ids)."""
    config = Configuration(server_api_url=server_url)
    setup(config, name)
    return config, [WorkflowClient(config).start_workflow(name, {"n": i}) for i in range(count)]


def test_results_bring_the_next_task_where_the_server_has_update_v2(
    server_url: str, server_kind: str, uid: str
) -> None:
    name = f"v2_{uid}"
    config, ids = queued(server_url, name, 24)
    runner = TaskRunner(Worker(name, add_one), [WorkerSettings(task_name=name, thread_count=4)], config)
    with running(runner):
        wait_for(lambda: statuses(config, ids) == ["COMPLETED"] * len(ids), 60, "every workflow to complete")
    assert runner.update_v2 is HAS_UPDATE_V2[server_kind]
    outputs = [WorkflowClient(config).get_workflow(i, include_tasks=False).output for i in ids]
    assert outputs == [{"n": i + 1} for i in range(len(ids))]
    assert runner.sender.delivered == len(ids)
    if HAS_UPDATE_V2[server_kind]:
        # 24 queued tasks, 4 slots: after the first poll the rest arrive with the results that freed their slot.
        assert runner.received_v2 >= len(ids) // 2
        assert runner.sender.delivered_v2 >= runner.received_v2
        if server_kind == "embedded":  # (a real server may fail a call under load: a reporter retries that one)
            assert runner.sender.reporter_threads == 0  # every result went out on the thread that ran its task
    else:
        assert (runner.received_v2, runner.sender.delivered_v2) == (0, 0)
        assert runner.sender.reporter_threads >= 1


def test_report_now_brings_the_next_task_or_leaves_the_result_to_the_reporters(
    server_url: str, server_kind: str, uid: str
) -> None:
    name = f"v2now_{uid}"
    config, ids = queued(server_url, name, 2)
    client = TaskClient(config)
    polled: List[Task] = []

    def poll() -> bool:
        polled.extend(client.batch_poll(name, count=1, timeout_ms=100))
        return bool(polled)

    wait_for(poll, 20, "a task")
    client.api.facts.update_v2 = None  # (shared per server in this process: an earlier test may have learnt it)
    sender = ResultSender(client)
    done = TaskResult(task_id=polled[0].task_id, workflow_instance_id=polled[0].workflow_instance_id)
    done.status = TaskResultStatus.COMPLETED
    done.output_data = {"n": 100}
    following = sender.report_now(done)
    if HAS_UPDATE_V2[server_kind]:
        assert following is not None and following.workflow_instance_id in ids
        assert following.workflow_instance_id != polled[0].workflow_instance_id
        assert (sender.delivered_v2, sender.reporter_threads) == (1, 0)
    else:  # 3.15's 500 "not supported": remembered, and the result goes the v1 way at once
        assert following is None
        assert client.api.facts.update_v2 is False
        wait_for(lambda: sender.delivered == 1, 20, "the result sent the v1 way")
        assert (sender.delivered_v2, sender.reporter_threads) == (0, 1)
    assert sender.flush(time.monotonic() + 10) == 0
    workflow = WorkflowClient(config).get_workflow(str(polled[0].workflow_instance_id), include_tasks=False)
    assert (workflow.status, workflow.output) == ("COMPLETED", {"n": 100})


def test_report_now_keeps_a_result_it_could_not_deliver(uid: str) -> None:
    config = Configuration(server_api_url="http://127.0.0.1:9/api", connect_timeout=0.5)  # nothing listens there
    sender = ResultSender(TaskClient(config))
    result = TaskResult(task_id=f"t-{uid}", workflow_instance_id="w", status=TaskResultStatus.COMPLETED)
    assert sender.report_now(result) is None
    assert sender.backlog == 1  # kept for a retry by a reporter (the v1 way), not dropped
    assert sender.flush(time.monotonic() + 0.3) == 1
    wait_for(lambda: sender.lost == [f"t-{uid}"], 10, "the result logged as lost")  # (a retry may be under way)


class FailingV2Client(TaskClient):
    """A real client whose update-v2 calls for results numbered in ``fail`` (1-based) fail as if the connection
    dropped."""

    def __init__(self, configuration: Configuration, fail: Set[int]) -> None:
        super().__init__(configuration)
        self.fail = fail
        self.v2_calls = 0

    def update_task_v2(self, result: TaskResult) -> Optional[Task]:
        if result.task_id == "_swift_conductor_probe":  # the runtime's one question whether the path exists
            return super().update_task_v2(result)
        self.v2_calls += 1
        if self.v2_calls in self.fail:
            raise ConductorConnectionError("injected: connection dropped before the answer")
        return super().update_task_v2(result)


@pytest.mark.parametrize("server_kind", ["embedded"], indirect=True)
def test_a_failed_update_v2_frees_its_slot_and_its_result_goes_the_v1_way(server_url: str, uid: str) -> None:
    name = f"v2fail_{uid}"
    config, ids = queued(server_url, name, 6)
    client = FailingV2Client(config, fail={1, 3})
    runner = TaskRunner(Worker(name, add_one), [WorkerSettings(task_name=name, thread_count=1)], client=client)
    with running(runner):  # one thread: a slot left claimed by a failed call would stop everything
        wait_for(lambda: statuses(config, ids) == ["COMPLETED"] * len(ids), 60, "every workflow to complete")
    assert client.v2_calls >= 3 and runner.sender.delivered == len(ids)
    assert runner.sender.delivered_v2 == client.v2_calls - 2  # the two failed results went the v1 way, once each
    assert runner.in_flight == 0 and runner.sender.backlog == 0


class ProbeSaysYes(TaskClient):
    """A real client whose probe claims update-v2 (a server replaced behind the same URL, say)."""

    def supports_update_v2(self) -> Optional[bool]:
        return True


@pytest.mark.parametrize("server_kind", ["netflix"], indirect=True)
def test_a_server_found_to_lack_update_v2_at_a_result_is_served_the_v1_way_from_then_on(
    server_url: str, uid: str
) -> None:
    name = f"v2lack_{uid}"
    config, ids = queued(server_url, name, 6)
    client = ProbeSaysYes(config)
    client.api.facts.update_v2 = None
    runner = TaskRunner(Worker(name, add_one), [WorkerSettings(task_name=name, thread_count=2)], client=client)
    with running(runner):
        wait_for(lambda: statuses(config, ids) == ["COMPLETED"] * len(ids), 60, "every workflow to complete")
    assert runner.update_v2 is False  # learnt from 3.15's 500 "not supported" on the first result
    assert (runner.received_v2, runner.sender.delivered_v2, runner.sender.delivered) == (0, 0, len(ids))


def test_a_worker_with_a_domain_gets_only_tasks_of_its_domain(server_url: str, uid: str) -> None:
    config = Configuration(server_api_url=server_url)
    name = f"v2d_{uid}"
    setup(config, name)
    workflows = WorkflowClient(config)
    mine = [
        workflows.start(StartWorkflowRequest(name=name, input={"n": i}, task_to_domain={name: f"d{uid}"}))
        for i in range(6)
    ]
    others = [workflows.start_workflow(name, {"n": i}) for i in range(6)]
    settings = WorkerSettings(task_name=name, thread_count=2, domain=f"d{uid}")
    runner = TaskRunner(Worker(name, add_one), [settings], config)
    with running(runner):
        wait_for(lambda: statuses(config, mine) == ["COMPLETED"] * len(mine), 60, "the domain's workflows")
    assert statuses(config, others) == ["RUNNING"] * len(others)
    assert TaskClient(config).queue_sizes(name) == {name: len(others)}


@pytest.mark.parametrize("server_kind", ["netflix"], indirect=True)
def test_the_runtime_asks_once_whether_update_v2_exists(server_url: str) -> None:
    client = TaskClient(Configuration(server_api_url=server_url))
    assert client.supports_update_v2() is False
    assert client.api.facts.update_v2 is False  # remembered for this server in this process


def test_a_result_under_way_is_listed_as_pending_and_counted_by_a_flush(
    uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # takes the request and never answers
    held: List[socket.socket] = []
    threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
    config = Configuration(server_api_url=f"http://127.0.0.1:{silent.getsockname()[1]}/api", read_timeout=3)
    sender = ResultSender(TaskClient(config))
    result = TaskResult(task_id=f"t-{uid}", workflow_instance_id="w", status=TaskResultStatus.COMPLETED)
    caller = threading.Thread(target=sender.report_now, args=(result,), daemon=True)
    try:
        caller.start()
        wait_for(lambda: held, 10, "the update-v2 request")
        assert sender.pending_task_ids() == [f"t-{uid}"] and sender.backlog == 1
        with caplog.at_level(logging.ERROR, logger="swift_conductor.automation"):
            assert sender.flush(time.monotonic() + 0.3) == 1  # still under way when the deadline came
        assert f"still being sent when the grace period ended (tasks t-{uid})" in caplog.text
        caller.join(10)  # the read timeout ends the call; the sender is closed, so the result is logged as lost
        assert sender.lost == [f"t-{uid}"] and sender.pending_task_ids() == []
    finally:
        for conn in held:
            conn.close()
        silent.close()
