"""run_workers and run_workflow through the plugin's fixtures, on the embedded server."""

from __future__ import annotations

import os
import re
import socket
import threading
from typing import Any, Callable, List

import pytest

from swift_conductor import NonRetryableError, Task, TaskResult, Worker, WorkerAbc, WorkflowDef, WorkflowTask
from swift_conductor.testing import Conductor, ServerUnavailable, run_workers, run_workflow
from swift_conductor.testing import server as server_module
from swift_conductor.testing.server import ConductorTestServer

from ..support.waiting import wait_for
from .conftest import PLUGIN_ARGS, closed_port_url
from .process_workers import report_pid

pytest_plugins = ["pytester"]


def one_step(name: str, task: str, **inputs: Any) -> WorkflowDef:
    return WorkflowDef(name=name, tasks=[WorkflowTask(name=task, task_reference_name="step", input_parameters=inputs)])


class Gate:
    """Counts tasks running at once; each waits until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.release = threading.Event()

    def __call__(self, n: int) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.release.wait(20)
        with self.lock:
            self.running -= 1
        return n


def test_thread_count_runs_tasks_side_by_side(
    run_workers: Callable[..., Any], conductor: Conductor, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("gate")
    gate = Gate()
    conductor.metadata.upsert_workflow_defs([one_step(name, name, n="${workflow.input.n}")])
    ids: List[str] = []
    with run_workers(Worker(name, gate), thread_count=3):
        ids = [conductor.workflows.start_workflow(name, {"n": i}) for i in range(3)]
        wait_for(lambda: gate.peak == 3, 20, "three tasks running at once")
        gate.release.set()
    assert all(conductor.workflows.get_workflow(i).status == "COMPLETED" for i in ids)


def test_leaving_the_block_drains_tasks_in_flight(
    run_workers: Callable[..., Any], conductor: Conductor, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("drain")
    gate = Gate()
    conductor.metadata.upsert_workflow_defs([one_step(name, name, n=7)])
    with run_workers(Worker(name, gate)):
        workflow_id = conductor.workflows.start_workflow(name, {})
        wait_for(lambda: gate.running == 1, 20, "the task to start")
        threading.Timer(0.2, gate.release.set).start()  # released while the block is being left
    workflow = conductor.workflows.get_workflow(workflow_id)  # reported before the block ended
    assert workflow.status == "COMPLETED"
    assert workflow.output == {"result": 7}


def test_processes_run_workers_in_worker_processes(
    run_workers: Callable[..., Any], run_workflow: Callable[..., Any], unique_name: Callable[[str], str]
) -> None:
    flow = one_step(unique_name("pids"), "testing_process_pid", n=5)
    with run_workers(report_pid, processes=True, thread_count=2):
        workflow = run_workflow(flow, timeout=60)
    assert workflow.output["n"] == 5
    assert workflow.output["pid"] != os.getpid()


def test_a_class_worker_and_a_function_worker_together(
    run_workers: Callable[..., Any], run_workflow: Callable[..., Any], unique_name: Callable[[str], str]
) -> None:
    first, second = unique_name("first"), unique_name("second")

    class Shout(WorkerAbc):
        def execute(self, task: Task) -> TaskResult:
            result = self.get_task_result_from_task(task)
            result.status = "COMPLETED"
            result.output_data = {"text": str(task.input_data["text"]).upper()}
            return result

    flow = WorkflowDef(
        name=first,
        tasks=[
            WorkflowTask(name=first, task_reference_name="a", input_parameters={"n": "${workflow.input.n}"}),
            WorkflowTask(name=second, task_reference_name="b", input_parameters={"text": "${a.output.result}"}),
        ],
        output_parameters={"shout": "${b.output.text}"},
    )
    with run_workers(Worker(first, lambda n: f"n is {n}"), Shout(second)):
        assert run_workflow(flow, {"n": 3}).output == {"shout": "N IS 3"}


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="give at least one worker"):
        run_workers()
    with pytest.raises(TypeError, match="is not a @worker_task function"):
        run_workers(lambda n: n)
    with pytest.raises(ValueError, match="thread_count must be a whole number >= 1, got 0"):
        run_workers(report_pid, thread_count=0)
    with pytest.raises(ValueError, match="two workers serve task 'same'"):
        run_workers(Worker("same", len), Worker("same", str))
    with pytest.raises(ValueError, match="timeout must be seconds > 0"):
        run_workflow("anything", timeout=0)
    with pytest.raises(TypeError, match="give a WorkflowDef or a workflow name"):
        run_workflow(42)  # type: ignore[arg-type]


def test_run_workflow_on_a_server_that_is_down_says_so() -> None:
    url = closed_port_url()
    with pytest.raises(ServerUnavailable, match=re.escape(f"cannot reach the Conductor server at {url}")):
        run_workflow("anything", configuration=ConductorTestServer(url).configuration())


def test_a_bad_or_silent_server_url_is_refused_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ServerUnavailable, match=r"bad Conductor server URL from --conductor-server: .*http://"):
        ConductorTestServer.connect("localhost:8080", "--conductor-server")
    monkeypatch.setattr(server_module, "PROBE_TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # accepts connections (the backlog does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api"
        with pytest.raises(ServerUnavailable, match=re.escape(f"no Conductor server answers at {url}")):
            ConductorTestServer.connect(url)


def test_a_web_server_that_is_not_conductor_is_named(conductor_server: ConductorTestServer) -> None:
    not_conductor = conductor_server.api_url + "/nothing/here"
    with pytest.raises(ServerUnavailable, match="does not answer as a Conductor server"):
        ConductorTestServer.connect(not_conductor)


def test_advance_rejects_bad_values(conductor_server: ConductorTestServer) -> None:
    with pytest.raises(ValueError, match="seconds must be a number >= 0"):
        conductor_server.advance(-1)


def test_what_counts_as_an_unexpected_worker_error(
    run_workers: Callable[..., Any], run_workflow: Callable[..., Any], unique_name: Callable[[str], str]
) -> None:
    names = {kind: unique_name(kind) for kind in ("raises", "terminal", "input", "unjson", "failed")}

    def raises() -> None:
        raise LookupError("gone")

    def terminal() -> None:
        raise NonRetryableError("on purpose")

    def needs_input(n: int) -> int:
        return n

    def unjson() -> dict:
        return {"when": object()}

    class Refuses(WorkerAbc):
        def execute(self, task: Task) -> TaskResult:
            result = self.get_task_result_from_task(task)
            result.status = "FAILED"
            result.reason_for_incompletion = "no"
            return result

    workers = [
        Worker(names["raises"], raises),
        Worker(names["terminal"], terminal),
        Worker(names["input"], needs_input),
        Worker(names["unjson"], unjson),
        Refuses(names["failed"]),
    ]
    with run_workers(*workers, raise_on_error=False) as running:
        for name in names.values():
            assert run_workflow(one_step(name, name), raise_on_failure=False).status == "FAILED"
    seen = {e.task_name: e.error for e in running.errors}
    assert seen == {
        names["raises"]: "LookupError: gone",
        names["input"]: "TaskInputError: missing required input 'n'",
        names[
            "unjson"
        ]: "TypeError: task output is not JSON-serializable: Object of type object is not JSON serializable",
    }


def test_workers_started_without_a_block_are_stopped_and_checked_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from swift_conductor import Worker, WorkflowDef, WorkflowTask

        def explode():
            raise ValueError("late")

        def test_no_block(run_workers, run_workflow, unique_name):
            name = unique_name("noblock")
            run_workers(Worker(name, explode)).start()
            run_workflow(WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="x")]),
                         raise_on_failure=False)
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*worker for task 'noblock_*' raised ValueError: late*"])


def test_task_definitions_nested_in_a_switch_are_registered_too(
    run_workers: Callable[..., Any],
    run_workflow: Callable[..., Any],
    unique_name: Callable[[str], str],
    conductor: Conductor,
) -> None:
    small, large = unique_name("small"), unique_name("large")
    switch = WorkflowTask(
        name="size",
        task_reference_name="size",
        type="SWITCH",
        input_parameters={"n": "${workflow.input.n}"},
        extra={
            "evaluatorType": "value-param",
            "expression": "n",
            "decisionCases": {"1": [WorkflowTask(name=small, task_reference_name="small").to_dict()]},
            "defaultCase": [WorkflowTask(name=large, task_reference_name="large").to_dict()],
        },
    )
    flow = WorkflowDef(name=unique_name("sizes"), tasks=[switch])
    with run_workers(Worker(small, lambda: "small"), Worker(large, lambda: "large")):
        workflow = run_workflow(flow, {"n": 1})
    assert workflow.task_by_ref("small").output_data == {"result": "small"}
    assert conductor.metadata.get_task_def(large).retry_count == 0  # registered though it did not run
