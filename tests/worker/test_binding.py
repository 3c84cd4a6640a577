"""Input binding and output mapping of function workers, through execute_task (no server involved)."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from swift_conductor import InProgress, NonRetryableError, Worker, execute_task
from swift_conductor.http.models import Task, TaskResult
from swift_conductor.http.models.task_result_status import TaskResultStatus

from . import binding_fixtures as fx


def run(func: Any, input_data: Dict[str, Any], **task_fields: Any) -> TaskResult:
    task = Task(task_id="t-1", workflow_instance_id="wf-1", task_def_name="t", input_data=input_data, **task_fields)
    return execute_task(Worker("t", func), task)


def test_primitives_are_converted_under_postponed_annotations() -> None:
    result = run(fx.typed, {"count": "7", "ratio": 2, "name": 5, "flag": "true", "color": "blue"})
    assert result.status is TaskResultStatus.COMPLETED
    assert result.output_data == {"count": 7, "ratio": 2.0, "name": "5", "flag": True, "color": "blue"}
    assert (result.task_id, result.workflow_instance_id) == ("t-1", "wf-1")
    assert result.worker_id


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"count": "seven"}, "input 'count' must be an integer, got 'seven'"),
        ({"ratio": "x"}, "input 'ratio' must be a number"),
        ({"flag": "maybe"}, "input 'flag' must be a boolean"),
        ({"color": "green"}, "input 'color' must be one of ['red', 'blue']"),
        ({"name": {"a": 1}}, "input 'name' must be a string"),
    ],
)
def test_a_value_that_cannot_convert_fails_naming_the_parameter(bad: Dict[str, Any], message: str) -> None:
    good = {"count": 1, "ratio": 1.0, "name": "n", "flag": False, "color": "red"}
    result = run(fx.typed, {**good, **bad})
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert message in (result.reason_for_incompletion or "")


def test_missing_required_input_fails_naming_it() -> None:
    result = run(fx.typed, {"count": 1, "ratio": 1.0, "name": "n", "flag": False})
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert "missing required input 'color'" in (result.reason_for_incompletion or "")


def test_dataclasses_are_built_from_dicts_and_returned_as_output() -> None:
    order = {"order_id": "o-1", "quantity": "3", "address": {"street": "Main", "zip_code": 12345}, "extra": 1}
    result = run(fx.with_dataclass, {"order": order})
    assert result.status is TaskResultStatus.COMPLETED
    assert result.output_data == {
        "order_id": "o-1",
        "quantity": 3,
        "address": {"street": "Main", "zip_code": 12345},
        "tags": [],
        "note": None,
    }


def test_a_missing_dataclass_field_fails_naming_the_path() -> None:
    result = run(fx.with_dataclass, {"order": {"order_id": "o", "quantity": 1, "address": {"street": "s"}}})
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert "order.address.zip_code" in (result.reason_for_incompletion or "")


def test_a_task_annotated_parameter_receives_the_task() -> None:
    result = run(fx.with_task, {"x": "4"}, poll_count=2)
    assert result.output_data == {"task_id": "t-1", "poll_count": 2, "x": 4}


def test_a_single_untyped_parameter_gets_its_input_not_the_task() -> None:
    assert run(fx.one_untyped, {"value": [1, 2]}).output_data == {"result": [1, 2]}
    missing = run(fx.one_untyped, {"other": 1})
    assert "missing required input 'value'" in (missing.reason_for_incompletion or "")


def test_containers_and_optional_and_kwargs() -> None:
    result = run(fx.containers, {"items": ["1", 2], "lookup": {"a": "1.5"}})
    assert result.output_data == {"items": [1, 2], "lookup": {"a": 1.5}, "maybe": None}
    bad = run(fx.containers, {"items": [1, "x"], "lookup": {}})
    assert "input 'items[1]' must be an integer" in (bad.reason_for_incompletion or "")
    assert run(fx.catch_all, {"a": 1, "b": 2}).output_data == {"a": 1, "rest": {"b": 2}}


@pytest.mark.parametrize(
    ("returned", "output"),
    [
        ({"k": 1}, {"k": 1}),
        (None, {}),
        (42, {"result": 42}),
        ("text", {"result": "text"}),
        ([1, 2], {"result": [1, 2]}),
        (fx.Address("s", 1), {"street": "s", "zip_code": 1}),
    ],
)
def test_return_values_become_output(returned: Any, output: Dict[str, Any]) -> None:
    def func() -> Any:
        return returned

    result = execute_task(Worker("t", func), Task(task_id="t", workflow_instance_id="w"))
    assert result.status is TaskResultStatus.COMPLETED
    assert result.output_data == output


def test_a_returned_task_result_passes_through_with_ids_filled_in() -> None:
    def func() -> TaskResult:
        result = TaskResult(status=TaskResultStatus.FAILED, reason_for_incompletion="custom")
        return result.add_output_data("partial", True)

    result = execute_task(Worker("t", func, worker_id="me"), Task(task_id="t-9", workflow_instance_id="w-9"))
    assert result.status is TaskResultStatus.FAILED and result.reason_for_incompletion == "custom"
    assert (result.task_id, result.workflow_instance_id, result.worker_id) == ("t-9", "w-9", "me")
    assert result.output_data == {"partial": True}


def test_an_exception_fails_the_task_with_reason_and_traceback_in_logs() -> None:
    def func() -> None:
        raise RuntimeError("payment service down")

    result = execute_task(Worker("t", func), Task(task_id="t", workflow_instance_id="w"))
    assert result.status is TaskResultStatus.FAILED
    assert result.reason_for_incompletion == "RuntimeError: payment service down"
    assert "Traceback" in (result.logs[0].log or "") and "payment service down" in (result.logs[0].log or "")
    assert result.logs[0].created_time and result.logs[0].created_time > 1_600_000_000_000


def test_a_non_retryable_error_fails_terminally() -> None:
    def func() -> None:
        raise NonRetryableError("card declined")

    result = execute_task(Worker("t", func), Task(task_id="t", workflow_instance_id="w"))
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert result.reason_for_incompletion == "NonRetryableError: card declined"


def test_in_progress_with_callback() -> None:
    def func(task: Task) -> Any:
        if (task.poll_count or 0) < 3:
            return InProgress(callback_after_seconds=5, output={"seen": task.poll_count})
        return {"done": True}

    worker = Worker("t", func)
    first = execute_task(worker, Task(task_id="t", workflow_instance_id="w", poll_count=1))
    assert first.status is TaskResultStatus.IN_PROGRESS
    assert first.callback_after_seconds == 5 and first.output_data == {"seen": 1}
    last = execute_task(worker, Task(task_id="t", workflow_instance_id="w", poll_count=3))
    assert last.status is TaskResultStatus.COMPLETED


@pytest.mark.parametrize("value", [object(), float("nan"), float("inf")])
def test_output_that_is_not_json_fails_instead_of_being_dropped(value: Any) -> None:
    def func() -> dict:
        return {"value": value}

    result = execute_task(Worker("t", func), Task(task_id="t", workflow_instance_id="w"))
    assert result.status is TaskResultStatus.FAILED
    assert "not JSON-serializable" in (result.reason_for_incompletion or "")


def test_a_worker_calling_sys_exit_still_gets_a_result() -> None:
    import sys

    def func() -> None:
        sys.exit("bye")

    result = execute_task(Worker("t", func), Task(task_id="t", workflow_instance_id="w"))
    assert result.status is TaskResultStatus.FAILED
    assert result.reason_for_incompletion == "SystemExit: bye"


def test_a_class_worker_returning_garbage_fails_the_task() -> None:
    from swift_conductor import WorkerAbc

    class Broken(WorkerAbc):
        def execute(self, task: Task) -> TaskResult:
            return {"not": "a result"}  # type: ignore[return-value]

    result = execute_task(Broken("t"), Task(task_id="t", workflow_instance_id="w"))
    assert result.status is TaskResultStatus.FAILED
    assert "returned dict, not TaskResult" in (result.reason_for_incompletion or "")


async def async_double(n: int) -> int:
    import asyncio

    await asyncio.sleep(0)
    return 2 * n


def test_async_functions_run_on_the_threads_event_loop() -> None:
    worker = Worker("t", async_double)
    for n in (1, 2):  # the loop is reused across tasks of the same thread
        result = execute_task(worker, Task(task_id="t", workflow_instance_id="w", input_data={"n": n}))
        assert result.status is TaskResultStatus.COMPLETED and result.output_data == {"result": 2 * n}


def test_a_class_overriding_get_task_definition_name_polls_that_name() -> None:
    from swift_conductor import WorkerAbc

    class OldStyle(WorkerAbc):
        def execute(self, task: Task) -> TaskResult:
            raise NotImplementedError

        def get_task_definition_name(self) -> str:
            return "fixed_name"

    assert OldStyle("placeholder").polled_task_names() == ["fixed_name"]
    assert Worker(["a", "b"], async_double).polled_task_names() == ["a", "b"]


@pytest.mark.parametrize(
    ("func", "input_data", "output"),
    [
        (fx.Greeter("Hi").greet, {"name": "Ada"}, {"result": "Hi, Ada"}),
        (fx.Doubler(), {"n": "4"}, {"result": 8}),
        (fx.typed, {"count": 1, "ratio": 1, "name": "n", "flag": 0, "color": "red"}, None),
    ],
)
def test_bound_methods_and_callable_objects_survive_pickling(func: Any, input_data: dict, output: Any) -> None:
    import pickle

    worker = pickle.loads(pickle.dumps(Worker("t", func)))
    result = execute_task(worker, Task(task_id="t", workflow_instance_id="w", input_data=input_data))
    assert result.status is TaskResultStatus.COMPLETED, result.reason_for_incompletion
    if output is not None:
        assert result.output_data == output


def test_an_input_key_named_like_the_task_parameter_does_not_replace_it() -> None:
    def func(task: Task, **rest: Any) -> dict:
        return {"task_is_task": isinstance(task, Task), "rest": rest}

    result = execute_task(
        Worker("t", func), Task(task_id="t", workflow_instance_id="w", input_data={"task": 5, "x": 1})
    )
    assert result.output_data == {"task_is_task": True, "rest": {"x": 1}}


def test_partials_and_classes_get_their_type_hints() -> None:
    import functools

    partial = execute_task(Worker("t", functools.partial(fx.add, b=1)), Task(input_data={"a": "2"}))
    assert partial.output_data == {"result": 3}
    built = execute_task(Worker("t", fx.Pair), Task(input_data={"a": "1", "b": 2.0}))
    assert built.output_data == {"a": 1, "b": 2}
