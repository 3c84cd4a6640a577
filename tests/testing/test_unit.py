"""execute_task from swift_conductor.testing: one task through a worker, no server."""

from __future__ import annotations

import pytest

from swift_conductor import InProgress, NonRetryableError, Task, TaskResult, WorkerAbc
from swift_conductor.testing import execute_task
from swift_conductor_decorators import worker_task


@worker_task("unit_testing_double")
def double(n: int) -> int:
    return 2 * n


def test_a_worker_task_function_runs_with_its_input() -> None:
    result = execute_task(double, {"n": "21"})
    assert result.status == "COMPLETED"
    assert result.output_data == {"result": 42}
    assert result.task_id == "test-task-id" and result.workflow_instance_id == "test-workflow-id"


def test_a_plain_function_is_wrapped_as_a_worker() -> None:
    def greet(name: str, task: Task) -> dict:
        return {"text": f"hi {name}", "task": task.task_def_name}

    assert execute_task(greet, {"name": "Ada"}).output_data == {"text": "hi Ada", "task": "greet"}


def test_task_fields_reach_the_worker_and_in_progress_comes_back_with_its_callback() -> None:
    def wait(task: Task) -> object:
        if (task.poll_count or 0) < 3:
            return InProgress(callback_after_seconds=30, output={"seen": task.poll_count})
        return {"done": True}

    first = execute_task(wait, {}, poll_count=1)
    assert (first.status, first.callback_after_seconds, first.output_data) == ("IN_PROGRESS", 30, {"seen": 1})
    assert execute_task(wait, {}, poll_count=3).output_data == {"done": True}


def test_a_class_worker_keeps_its_logs() -> None:
    class Logger(WorkerAbc):
        def execute(self, task: Task) -> TaskResult:
            result = self.get_task_result_from_task(task)
            result.status = "COMPLETED"
            result.log(f"got {task.input_data['x']}")
            return result

    result = execute_task(Logger("unit_logger"), {"x": 1})
    assert [entry.log for entry in result.logs] == ["got 1"]


def test_exceptions_become_failed_results_with_the_traceback() -> None:
    def broken(n: int) -> int:
        return n // 0

    def refuse() -> None:
        raise NonRetryableError("never")

    failed = execute_task(broken, {"n": 1})
    assert failed.status == "FAILED"
    assert failed.reason_for_incompletion == "ZeroDivisionError: integer division or modulo by zero"
    assert "return n // 0" in failed.logs[0].log
    assert execute_task(refuse).status == "FAILED_WITH_TERMINAL_ERROR"
    assert execute_task(double, {}).reason_for_incompletion == "TaskInputError: missing required input 'n'"


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="pol_count is not a Task field"):
        execute_task(double, {"n": 1}, pol_count=2)
    with pytest.raises(TypeError, match="input must be a dict of task inputs, got list"):
        execute_task(double, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not a worker"):
        execute_task("double", {})  # type: ignore[arg-type]
