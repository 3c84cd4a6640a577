"""The pytest plugin as users meet it: test files run by pytester, with the plugin loaded as pytest loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import ROOT
from .conftest import PLUGIN, PLUGIN_ARGS, closed_port_url

pytest_plugins = ["pytester"]


def test_the_entry_point_names_the_plugin_module() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"swift_conductor": PLUGIN}
    assert any(req.startswith("pytest-xdist") for req in project["optional-dependencies"]["test"])


def test_the_minimal_project_file_passes_in_under_15_lines(pytester: pytest.Pytester) -> None:
    source = (ROOT / "examples" / "test_minimal_workflow.py").read_text()
    assert len(source.splitlines()) < 15
    pytester.makepyfile(test_minimal_workflow=source)
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=1)


def test_loading_the_plugin_imports_no_server_and_no_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import sys

        def test_nothing_heavy_was_imported():
            assert {PLUGIN!r} in sys.modules
            light = {{"swift_conductor", "swift_conductor.testing", {PLUGIN!r}}}
            ours = [m for m in sys.modules if m.split(".")[0].startswith("swift_conductor")]
            heavy = [m for m in ours if m not in light and not m.startswith("swift_conductor._")]
            assert heavy == []
        """
    )
    result = pytester.runpytest_subprocess(*PLUGIN_ARGS)
    result.assert_outcomes(passed=1)


def test_help_shows_the_server_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*PLUGIN_ARGS, "--help")
    result.stdout.fnmatch_lines(["*--conductor-server=URL*"])


def test_a_worker_that_raises_fails_the_test_with_its_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from swift_conductor import WorkflowDef, WorkflowTask
        from swift_conductor_decorators import worker_task

        @worker_task("plugin_divide")
        def divide(n: int) -> int:
            return 10 // n  # the worker's own line

        def test_divide(run_workers, run_workflow, unique_name):
            flow = WorkflowDef(name=unique_name("divide"), tasks=[
                WorkflowTask(name="plugin_divide", task_reference_name="d", input_parameters={"n": 0})])
            with run_workers(divide):
                run_workflow(flow)
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*worker for task 'plugin_divide' raised ZeroDivisionError: integer division or modulo by zero*",
            "*return 10 // n  # the worker's own line*",
            "*where the workflow stands*",  # reported as it happened, not after run_workflow's timeout
            "*raise_on_error=False*",
        ]
    )
    result.stdout.no_fnmatch_line("*still RUNNING after*")


def test_a_worker_error_raised_outside_run_workflow_fails_the_block(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from swift_conductor import TaskDef, WorkerAbc, WorkflowDef, WorkflowTask

        class Broken(WorkerAbc):
            def execute(self, task):
                raise KeyError("missing")

        def test_block(run_workers, conductor, unique_name):
            name = unique_name("broken")
            conductor.metadata.register_task_defs([TaskDef(name=name, retry_count=0)])
            conductor.metadata.upsert_workflow_defs([WorkflowDef(name=name, tasks=[
                WorkflowTask(name=name, task_reference_name="b")])])
            workflow_id = conductor.workflows.start_workflow(name, {})
            with run_workers(Broken(name)):
                for _ in range(400):
                    if conductor.workflows.get_workflow(workflow_id).is_terminal:
                        break
                    import time; time.sleep(0.05)
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: worker for task 'broken_*' raised KeyError: 'missing'*"])


def test_raise_on_error_false_lets_a_test_expect_the_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from swift_conductor import WorkflowDef, WorkflowTask
        from swift_conductor_decorators import worker_task

        @worker_task("plugin_explode")
        def explode() -> None:
            raise RuntimeError("boom")

        def test_expected_failure(run_workers, run_workflow, unique_name):
            flow = WorkflowDef(name=unique_name("explode"), tasks=[
                WorkflowTask(name="plugin_explode", task_reference_name="x")])
            with run_workers(explode, raise_on_error=False) as running:
                with pytest.raises(AssertionError) as failure:
                    run_workflow(flow)
            message = str(failure.value)
            assert "FAILED" in message
            assert "failing task: x (task type plugin_explode" in message
            assert "RuntimeError: boom" in message
            assert 'raise RuntimeError("boom")' in message  # the traceback, from the task's logs
            assert [e.error for e in running.errors] == ["RuntimeError: boom"]
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=1)


def test_a_deliberately_failed_workflow_raises_naming_the_task_reason_and_logs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from swift_conductor import NonRetryableError, Task, TaskResult, WorkerAbc, WorkflowDef, WorkflowTask

        class Refuse(WorkerAbc):
            def execute(self, task: Task) -> TaskResult:
                result = self.get_task_result_from_task(task)
                result.log("checked the card")
                result.status = "FAILED"
                result.reason_for_incompletion = "card declined"
                return result

        def test_declined(run_workers, run_workflow, unique_name):
            name = unique_name("charge")
            flow = WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="charge")])
            with run_workers(Refuse(name)):
                with pytest.raises(AssertionError) as failure:
                    run_workflow(flow, {"amount": 3})
            message = str(failure.value)
            assert f"workflow {name!r}" in message and "FAILED" in message
            assert f"failing task: charge (task type {name}" in message
            assert "FAILED: card declined" in message
            assert "checked the card" in message

        def test_returned_when_asked(run_workers, run_workflow, unique_name):
            name = unique_name("charge")
            flow = WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="charge")])
            with run_workers(Refuse(name)):
                workflow = run_workflow(flow, raise_on_failure=False)
            assert workflow.status == "FAILED"
            assert workflow.tasks[0].reason_for_incompletion == "card declined"
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=2)


def test_a_workflow_that_does_not_finish_times_out_with_where_it_stands(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from swift_conductor import WorkflowDef, WorkflowTask

        def test_nobody_serves_the_task(run_workflow, conductor, unique_name):
            name = unique_name("orphan")
            flow = WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="lonely")])
            with pytest.raises(AssertionError) as failure:
                run_workflow(flow, {}, timeout=0.5)
            message = str(failure.value)
            assert "still RUNNING after 0.5 s" in message
            assert f"lonely ({name}): SCHEDULED - never polled: is a worker serving task {name!r}?" in message
            assert "It was terminated." in message
            workflow_id = message.split("(", 1)[1].split(")", 1)[0]
            assert conductor.workflows.get_workflow(workflow_id).status == "TERMINATED"
        """
    )
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=1)


def test_a_server_url_that_is_down_errors_with_a_clear_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_needs_the_server(conductor):
            pass

        def test_needs_it_too(run_workflow):
            pass
        """
    )
    url = closed_port_url()
    result = pytester.runpytest(*PLUGIN_ARGS, f"--conductor-server={url}")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([f"*no Conductor server answers at {url} (from --conductor-server)*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_the_environment_variable_points_at_a_server_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_needs_the_server(conductor_server):\n    pass\n")
    url = closed_port_url()
    monkeypatch.setenv("CONDUCTOR_TEST_SERVER_URL", url)
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*no Conductor server answers at {url} (from CONDUCTOR_TEST_SERVER_URL)*"])


def test_the_same_tests_run_against_a_real_server(pytester: pytest.Pytester, real_server_url: str) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_on_the_real_server(conductor_server, conductor):
            assert not conductor_server.is_embedded and not conductor_server.can_advance
            assert conductor.api_url == conductor_server.api_url
            with pytest.raises(RuntimeError, match="needs the embedded server, but these tests run against"):
                conductor_server.advance(10)
        """
    )
    pytester.makepyfile(test_minimal_workflow=(ROOT / "examples" / "test_minimal_workflow.py").read_text())
    result = pytester.runpytest(*PLUGIN_ARGS, f"--conductor-server={real_server_url}")
    result.assert_outcomes(passed=2)


def test_under_xdist_each_worker_process_has_its_own_embedded_server(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import os
        import pytest
        from pathlib import Path
        from swift_conductor import WorkflowDef, WorkflowTask
        from swift_conductor_decorators import worker_task

        @worker_task("xdist_double")
        def double(n: int) -> int:
            return 2 * n

        @pytest.mark.parametrize("n", range(6))
        def test_double(n, conductor_server, run_workers, run_workflow, unique_name):
            flow = WorkflowDef(name=unique_name("double"), tasks=[WorkflowTask(
                name="xdist_double", task_reference_name="d", input_parameters={"n": n})])
            with run_workers(double):
                assert run_workflow(flow).output == {"result": 2 * n}
            Path(os.environ["PYTEST_XDIST_WORKER"] + ".url").write_text(conductor_server.api_url)
        """
    )
    result = pytester.runpytest_subprocess(*PLUGIN_ARGS, "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    urls = {p.name: p.read_text() for p in Path(pytester.path).glob("gw*.url")}
    assert sorted(urls) == ["gw0.url", "gw1.url"]
    assert len(set(urls.values())) == 2
