from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from swift_conductor import Task, TaskResult, WorkerAbc, WorkerHost
from swift_conductor.worker import registry
from swift_conductor_decorators import worker_task


class ClassWorker(WorkerAbc):
    def execute(self, task: Task) -> TaskResult:
        raise NotImplementedError


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = registry.registered_workers()
    registry.clear()
    yield
    registry.clear()
    for worker in saved:
        registry.register(worker)


def test_decorated_function_stays_plain_and_is_registered() -> None:
    @worker_task("reg_plain", domain="d", poll_interval=250, thread_count=3)
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert add(2, b=3) == 5
    assert add.__name__ == "add"
    (worker,) = registry.registered_workers()
    assert worker.task_definition_names == ["reg_plain"]
    assert (worker.domain, worker.poll_interval) == ("d", 250)
    assert worker.options == {"domain": "d", "poll_interval": 250, "thread_count": 3}


def test_an_unknown_option_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"worker_task\(\) got unexpected keyword argument\(s\) pol_interval, threads"):
        worker_task("reg_typo", pol_interval=5, threads=2)  # type: ignore[call-arg]
    assert registry.registered_workers() == []


def test_same_name_from_two_functions_is_an_error() -> None:
    @worker_task("reg_dup")
    def first() -> None: ...

    with pytest.raises(ValueError, match=r"task .reg_dup. is already registered by .*first"):

        @worker_task("reg_dup")
        def second() -> None: ...


def test_importing_a_module_twice_is_not_a_conflict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "reg_mod.py").write_text(
        textwrap.dedent(
            """
            from swift_conductor_decorators import worker_task

            @worker_task("reg_mod_task")
            def handler(x: int) -> int:
                return x * 2
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("reg_mod")
    sys.modules.pop("reg_mod")
    importlib.import_module("reg_mod")  # as a script is imported again as __mp_main__ in a child
    sys.modules.pop("reg_mod")
    assert module.handler(3) == 6
    host = WorkerHost.from_registry(environ={})
    assert [w.task_definition_names for w in host.workers] == [["reg_mod_task"]]


def test_from_registry_imports_modules_and_adds_class_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "reg_mod2.py").write_text(
        "from swift_conductor_decorators import worker_task\n\n@worker_task('reg_mod2_task')\ndef f() -> None: ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    host = WorkerHost.from_registry(workers=[ClassWorker("reg_class")], modules=["reg_mod2"], environ={})
    sys.modules.pop("reg_mod2")
    assert sorted(name for w in host.workers for name in w.task_definition_names) == ["reg_class", "reg_mod2_task"]


def test_a_local_function_is_refused_when_the_host_is_built() -> None:
    from swift_conductor import Worker, WorkerConfigurationError

    def local() -> None: ...

    with pytest.raises(WorkerConfigurationError, match="define it at the top level of a module"):
        WorkerHost([Worker("reg_local", local)], environ={})
