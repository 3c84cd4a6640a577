"""on_startup / on_shutdown run once in each worker process, around its polling; bad hooks fail at build time."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List

import pytest

from swift_conductor import (
    Configuration,
    MetadataClient,
    TaskDef,
    Worker,
    WorkerConfigurationError,
    WorkerHost,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
)

from ..support.waiting import wait_for
from . import hook_fixtures


def test_hooks_run_in_each_process_before_the_first_poll_and_after_the_drain(
    embedded_server_url: str, uid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TEST_DIR", str(tmp_path))
    config = Configuration(server_api_url=embedded_server_url)
    name = f"hooked_{uid}"
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="t")])]
    )
    workers = [Worker(name, hook_fixtures.uses_pool), Worker(f"{name}_idle", hook_fixtures.uses_pool)]
    host = WorkerHost(
        workers, config, on_startup=hook_fixtures.open_pool, on_shutdown=hook_fixtures.close_pool, environ={}
    )
    host.start_processes()
    try:
        wid = WorkflowClient(config).start_workflow(name, {})
        done = wait_for(lambda: (w := WorkflowClient(config).get_workflow(wid)).is_terminal and w, 30, "the task")
        wait_for(lambda: len(list(tmp_path.glob("startup-*"))) == 2, 30, "both processes to have started")
        pids = host.pids
    finally:
        host.stop_processes(timeout=20)
    output = done.tasks[0].output_data
    assert output["db"] == f"pool-of-{output['pid']}"  # the hook ran in that process before its task
    assert sorted(p.name for p in tmp_path.glob("startup-*")) == sorted(f"startup-{p}" for p in pids)
    shutdowns = {p.name: p.read_text() for p in tmp_path.glob("shutdown-*")}
    assert shutdowns == {f"shutdown-{p}": f"pool-of-{p}" for p in pids}  # once each, with the pool still open


def _make_nested() -> object:
    def nested() -> None:
        pass

    return nested


@pytest.mark.parametrize("hook", [lambda: None, _make_nested(), 42], ids=["lambda", "nested", "not-callable"])
def test_a_hook_that_cannot_reach_worker_processes_is_refused_when_the_host_is_built(
    embedded_server_url: str, hook: object
) -> None:
    with pytest.raises(WorkerConfigurationError, match="on_startup"):
        WorkerHost(
            [Worker("x", hook_fixtures.uses_pool)],
            Configuration(server_api_url=embedded_server_url),
            on_startup=hook,  # type: ignore[arg-type]
            environ={},
        )


def test_a_hook_taking_arguments_is_refused(embedded_server_url: str) -> None:
    with pytest.raises(WorkerConfigurationError, match="must take no arguments"):
        WorkerHost(
            [Worker("x", hook_fixtures.uses_pool)],
            Configuration(server_api_url=embedded_server_url),
            on_shutdown=_needs,
            environ={},
        )


def _needs(pool: object) -> None:
    pass


def test_a_failing_startup_is_reported_and_retried_with_backoff_not_in_a_hot_loop(
    embedded_server_url: str, uid: str
) -> None:
    records: List[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logging.getLogger("swift_conductor").addHandler(handler)
    host = WorkerHost(
        [Worker(f"nostart_{uid}", hook_fixtures.uses_pool)],
        Configuration(server_api_url=embedded_server_url),
        on_startup=hook_fixtures.failing_startup,
        environ={},
    )
    host.start_processes()
    try:
        wait_for(lambda: host.health()["workers"][0]["restarts"] >= 2, 60, "two restarts")
    finally:
        host.stop_processes(timeout=20)
        logging.getLogger("swift_conductor").removeHandler(handler)
    failures = [r for r in records if "on_startup hook failing_startup failed" in r.getMessage()]
    assert failures and failures[0].levelno == logging.ERROR
    assert failures[0].exc_text and "database unreachable" in failures[0].exc_text
    waits = [r.getMessage() for r in records if "its on_startup hook failed; restarting in" in r.getMessage()]
    assert [w.rsplit("restarting in ", 1)[1] for w in waits[:2]] == ["1 s", "2 s"]  # the backoff grows
