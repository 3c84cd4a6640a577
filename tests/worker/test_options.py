"""One definition of the worker options, the documented constructor signatures, and checks at build time."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from swift_conductor import Task, TaskResult, Worker, WorkerAbc, WorkerConfigurationError, WorkerOptions, execute_task
from swift_conductor.automation.task_runner import TaskRunner
from swift_conductor.configuration import Configuration
from swift_conductor.http.models.task_result_status import TaskResultStatus
from swift_conductor.worker import registry
from swift_conductor.worker.options import OPTION_NAMES
from swift_conductor.worker.settings import WorkerSettings


class SampleWorker(WorkerAbc):
    def execute(self, task: Task) -> TaskResult:
        raise NotImplementedError


def double(n: int) -> int:
    return 2 * n


def test_the_documented_constructor_signatures_keep_working() -> None:
    sample = SampleWorker(task_definition_name="task_1")
    assert (sample.task_definition_names, sample.domain, sample.poll_interval) == (["task_1"], None, None)
    assert sample.options == {}
    worker = Worker("task_2", double, poll_interval=250, domain="d", worker_id="w-1")
    assert (worker.domain, worker.poll_interval, worker.get_identity()) == ("d", 250, "w-1")
    assert worker.options == WorkerOptions(poll_interval=250, domain="d", worker_id="w-1")


def test_every_option_is_accepted_by_every_constructor() -> None:
    values = {name: None for name in OPTION_NAMES}
    assert set(SampleWorker("t", **values).options) == OPTION_NAMES  # type: ignore[misc]
    assert set(Worker("t", double, **values).options) == OPTION_NAMES  # type: ignore[misc]


@pytest.mark.parametrize("build", [lambda: SampleWorker("t", domian="x"), lambda: Worker("t", double, domian="x")])
def test_an_unknown_option_is_a_type_error_naming_it(build: object) -> None:
    with pytest.raises(TypeError, match=r"got unexpected keyword argument\(s\) domian \(worker options: domain,"):
        build()  # type: ignore[operator]


def test_options_written_as_attributes_are_the_options() -> None:
    worker = SampleWorker("t")
    worker.domain = "blue"
    worker.poll_interval = 40
    assert worker.options == {"domain": "blue", "poll_interval": 40}
    worker.domain = ""
    assert worker.domain is None and worker.get_domain() is None
    worker.thread_count = 4  # type: ignore[attr-defined]  # every option reads and writes as an attribute
    assert worker.options["thread_count"] == 4 and worker.extend_lease is None  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="has no attribute 'thread_cuont'"):
        worker.thread_cuont  # type: ignore[attr-defined]  # noqa: B018


def test_get_task_definition_name_is_the_first_name_every_time() -> None:
    worker = Worker(["a", "b"], double)
    assert [worker.get_task_definition_name() for _ in range(3)] == ["a", "a", "a"]
    assert worker.polled_task_names() == ["a", "b"]


# -- type hints are resolved when the worker is built --------------------------------------------------------
@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = registry.registered_workers()
    registry.clear()
    yield tmp_path
    registry.clear()
    for worker in saved:
        registry.register(worker)


def load(directory: Path, name: str, source: str) -> object:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    try:
        return importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)


def test_an_undefined_annotation_fails_the_task_runner_build(module_dir: Path) -> None:
    load(
        module_dir,
        "opt_bad_hint",
        """
        from __future__ import annotations
        from swift_conductor_decorators import worker_task

        @worker_task("opt_bad_hint")
        def handle(order: Ordr) -> dict:
            return {}
        """,
    )
    (worker,) = registry.registered_workers()  # decorating did not resolve anything
    with pytest.raises(WorkerConfigurationError, match=r"worker function opt_bad_hint\.handle: .*name 'Ordr' is not"):
        TaskRunner(worker, [WorkerSettings(task_name="opt_bad_hint")], Configuration())


def test_an_undefined_annotation_inside_a_dataclass_fails_the_check(module_dir: Path) -> None:
    load(
        module_dir,
        "opt_bad_field",
        """
        from __future__ import annotations
        from dataclasses import dataclass
        from typing import List
        from swift_conductor_decorators import worker_task

        @dataclass
        class Line:
            sku: Skuu

        @worker_task("opt_bad_field")
        def handle(lines: List[Line]) -> dict:
            return {}
        """,
    )
    (worker,) = registry.registered_workers()
    with pytest.raises(WorkerConfigurationError, match=r"dataclass opt_bad_field\.Line: .*name 'Skuu' is not"):
        worker.check()


def test_a_forward_reference_to_a_class_defined_later_works(module_dir: Path) -> None:
    load(
        module_dir,
        "opt_forward",
        """
        from swift_conductor_decorators import worker_task

        @worker_task("opt_forward")
        def handle(order: "Order") -> dict:
            return {"qty": order.qty}

        from dataclasses import dataclass

        @dataclass
        class Order:
            qty: int
        """,
    )
    (worker,) = registry.registered_workers()
    runner = TaskRunner(worker, [WorkerSettings(task_name="opt_forward")], Configuration())
    assert runner.worker is worker
    result = execute_task(worker, Task(task_id="t", workflow_instance_id="w", input_data={"order": {"qty": "3"}}))
    assert (result.status, result.output_data) == (TaskResultStatus.COMPLETED, {"qty": 3})


def test_an_unchecked_worker_still_fails_its_tasks_terminally(module_dir: Path) -> None:
    """execute_task in a unit test runs no start-up check: the bad hint fails the task, naming it."""
    module = load(
        module_dir,
        "opt_unchecked",
        """
        from __future__ import annotations

        def handle(order: Ordr) -> dict:
            return {}
        """,
    )
    result = execute_task(Worker("opt_unchecked", module.handle), Task(task_id="t", workflow_instance_id="w"))  # type: ignore[attr-defined]
    assert result.status is TaskResultStatus.FAILED_WITH_TERMINAL_ERROR
    assert "cannot resolve its type hints" in (result.reason_for_incompletion or "")


def test_every_option_but_the_worker_id_is_a_setting_the_table_resolves() -> None:
    from swift_conductor.worker.settings import SETTINGS

    assert {s.option for s in SETTINGS.values() if s.option} == OPTION_NAMES - {"worker_id"}


def test_an_undefined_annotation_fails_the_host_build(module_dir: Path) -> None:
    from swift_conductor import WorkerHost

    load(
        module_dir,
        "opt_bad_host",
        """
        from __future__ import annotations
        from swift_conductor_decorators import worker_task

        @worker_task("opt_bad_host")
        def handle(order: Ordr) -> dict:
            return {}
        """,
    )
    with pytest.raises(WorkerConfigurationError, match=r"worker function opt_bad_host\.handle: .*name 'Ordr' is not"):
        WorkerHost.from_registry(environ={})
