"""The ``swift-conductor`` command: its arguments, and ``run`` serving a module's workers."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Tuple

import pytest

from swift_conductor import Configuration, TaskDef, WorkflowClient, WorkflowDef, WorkflowTask
from swift_conductor.clients import MetadataClient

from .conftest import ROOT, subprocess_env
from .support.waiting import wait_for

CLI = [sys.executable, "-m", "swift_conductor.cli"]


def test_run_needs_a_module() -> None:
    done = subprocess.run([*CLI, "run"], capture_output=True, text=True, timeout=30, env=subprocess_env())
    assert done.returncode == 2 and "modules" in done.stderr


def test_run_reports_a_missing_module_clearly() -> None:
    done = subprocess.run(
        [*CLI, "run", "no_such_module_x"], capture_output=True, text=True, timeout=30, env=subprocess_env()
    )
    assert done.returncode == 2 and "No module named 'no_such_module_x'" in done.stderr


def test_run_reports_a_bad_setting_with_its_source() -> None:
    env = subprocess_env(conductor_worker_polling_interval="soon")
    done = subprocess.run(
        [*CLI, "run", "mixed_functions"], capture_output=True, text=True, timeout=30, env=env, cwd=ROOT / "examples"
    )
    assert done.returncode == 2
    assert "environment variable conductor_worker_polling_interval: 'soon' must be a number" in done.stderr


@pytest.mark.parametrize("args", [["devserver", "--port", "nope"], ["bogus"]])
def test_bad_arguments_exit_2(args: list) -> None:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30, env=subprocess_env())
    assert done.returncode == 2 and "usage:" in done.stderr


def test_run_serves_the_modules_workers(embedded_server_url: str) -> None:
    config = Configuration(server_api_url=embedded_server_url)
    MetadataClient(config).register_task_defs([TaskDef(name="mixed_square", retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [
            WorkflowDef(
                name="cli_wf",
                tasks=[
                    WorkflowTask(
                        name="mixed_square", task_reference_name="sq", input_parameters={"n": "${workflow.input.n}"}
                    )
                ],
                output_parameters={"sq": "${sq.output.result}"},
            )
        ]
    )
    process = subprocess.Popen(
        [*CLI, "run", "mixed_functions", "--server", embedded_server_url],
        cwd=ROOT / "examples",
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = WorkflowClient(config)
        wid = client.start_workflow("cli_wf", {"n": 12})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.get_workflow(wid).status != "COMPLETED":
            time.sleep(0.1)
        assert client.get_workflow(wid).output == {"sq": 144}
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=40)
    assert process.returncode == 0, out
    assert "serving mixed_square" in out


def test_run_serves_probes_and_metrics_with_http_port(embedded_server_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*CLI, "run", "mixed_functions", "--server", embedded_server_url, "--http-port", "0"],
            cwd=ROOT / "examples",
            env=subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def address() -> Optional[str]:
            match = re.search(r"probes on (http://127\.0\.0\.1:\d+) ", log_path.read_text())
            return match.group(1) if match else None

        url = wait_for(address, 30, "the probe endpoint's address in the log")

        def fetch(path: str) -> Tuple[int, str]:
            try:
                with urllib.request.urlopen(url + path, timeout=10) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()

        wait_for(lambda: fetch("/readyz")[0] == 200, 30, "the workers to be ready")
        assert fetch("/healthz")[0] == 200
        polls = 'conductor_worker_polls_total{task_type="mixed_square"}'
        wait_for(lambda: polls in fetch("/metrics")[1], 30, "the polls in /metrics")  # reported every second
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(40)
    assert process.returncode == 0, log_path.read_text()[-3000:]
