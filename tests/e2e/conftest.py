"""Run worker programs as real processes against a server and watch what the server sees."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, TypeVar

import pytest

from swift_conductor.clients import MetadataClient, TaskClient, WorkflowClient
from swift_conductor.configuration import Configuration
from swift_conductor.http.models import TaskDef, Workflow, WorkflowDef, WorkflowTask

from ..conftest import subprocess_env
from ..support.waiting import wait_for  # noqa: F401 - the e2e tests import it from here

PROGRAMS = Path(__file__).parent / "programs"
T = TypeVar("T")


@dataclass
class Program:
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> List[int]:
        """The spawned worker processes (not multiprocessing's resource tracker)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.pid and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
        return sorted(pids)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"program still running after {timeout} s; log:\n{self.log()[-3000:]}") from None


@dataclass
class Launcher:
    tmp_path: Path
    started: List[Program] = field(default_factory=list)

    def __call__(self, name: str, *args: str, env: Optional[Dict[str, str]] = None) -> Program:
        log_path = self.tmp_path / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(PROGRAMS / name), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=subprocess_env(**(env or {})),
                cwd=self.tmp_path,
                start_new_session=True,
            )
        program = Program(process, log_path)
        self.started.append(program)
        return program

    def cleanup(self) -> None:
        for program in self.started:
            if program.process.poll() is None:
                try:
                    os.killpg(program.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                program.process.wait(10)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.cleanup()


@dataclass
class Server:
    url: str
    tasks: TaskClient
    workflows: WorkflowClient
    metadata: MetadataClient

    def define(self, workflow: str, *steps: str, retry_count: int = 0) -> None:
        """A linear workflow of SIMPLE tasks; each step's ``n`` input is the previous step's output."""
        self.metadata.register_task_defs(
            [
                TaskDef(
                    name=s,
                    retry_count=retry_count,
                    retry_delay_seconds=0,
                    response_timeout_seconds=60,
                    timeout_seconds=120,
                )
                for s in steps
            ]
        )
        tasks = []
        previous = "${workflow.input.n}"
        for i, step in enumerate(steps):
            tasks.append(WorkflowTask(name=step, task_reference_name=f"s{i}", input_parameters={"n": previous}))
            previous = f"${{s{i}.output.result}}"
        self.metadata.upsert_workflow_defs(
            [WorkflowDef(name=workflow, tasks=tasks, output_parameters={"last": f"${{s{len(steps) - 1}.output}}"})]
        )

    def finished(self, workflow_id: str) -> Optional[Workflow]:
        workflow = self.workflows.get_workflow(workflow_id)
        return workflow if workflow.is_terminal else None


@pytest.fixture
def server(server_url: str) -> Server:
    config = Configuration(server_api_url=server_url)
    return Server(server_url, TaskClient(config), WorkflowClient(config), MetadataClient(config))
