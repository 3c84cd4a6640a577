"""Every example runs with one command, as the README and docs say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from .conftest import ROOT, subprocess_env

EXAMPLES = ROOT / "examples"


def run_example(path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in subprocess_env().items() if not k.lower().startswith("conductor_")}
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environ, **(env or {})},
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    "script", ["quickstart.py", "class_worker.py", "decorated_workers.py", "mixed_host.py", "ini_and_env/main.py"]
)
def test_example_runs_on_the_embedded_server(script: str) -> None:
    done = run_example(EXAMPLES / script)
    assert done.returncode == 0, done.stdout + done.stderr
    completed = [line for line in done.stdout.splitlines() if " COMPLETED" in line]
    assert len(completed) == 3, done.stdout


def test_quickstart_runs_against_a_real_server_by_url(real_server_url: str) -> None:
    done = run_example(EXAMPLES / "quickstart.py", "--server", real_server_url, "--workflows", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("COMPLETED") == 2
    assert '"shout": "HELLO, ADA!"' in done.stdout


def test_ini_and_env_example_env_overrides_the_file() -> None:
    done = run_example(
        EXAMPLES / "ini_and_env" / "main.py",
        "--workflows",
        "1",
        env={"conductor_worker_python_annotated_task_2_domain": "cold"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines: List[str] = done.stdout.splitlines()
    assert "python_annotated_task_1: domain=cool polling_interval=500 ms" in lines
    assert "python_annotated_task_2: domain=cold polling_interval=300 ms" in lines
    assert "['cool', 'cold']" in done.stdout
