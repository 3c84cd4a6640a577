"""conductor-python 2.0.0, the most used Python client (built for Conductor OSS 3.32), runs unchanged against the
embedded server: its TaskHandler reports through update-v2 and its metadata client registers with ?overwrite=true.

It runs in a subprocess, so its import-time side effects stay out of this process: importing its task handler
sets the multiprocessing start method to "spawn" for the whole process, and its configuration module adds a TRACE
level to ``logging`` and a ``trace`` method to ``logging.Logger``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ..conftest import subprocess_env
from .conftest import PROGRAMS

pytestmark = pytest.mark.timeout(300)


def test_conductor_python_serves_five_workflows_on_the_embedded_server(
    embedded_server_url: str, uid: str, tmp_path: Path
) -> None:
    assert importlib.util.find_spec("conductor") is not None, "conductor-python is missing: pip install -e '.[test]'"
    prefix = f"cpy_{uid}"
    # A stale definition under the program's workflow name: its POST .../workflow?overwrite=true must replace it.
    stale = {
        "name": f"{prefix}_wf",
        "version": 1,
        "schemaVersion": 2,
        "tasks": [{"name": f"{prefix}_double", "taskReferenceName": "a", "type": "SIMPLE"}],
        "outputParameters": {"result": "stale"},
    }
    assert requests.post(f"{embedded_server_url}/metadata/workflow", json=stale, timeout=10).status_code == 200
    done = subprocess.run(
        [sys.executable, str(PROGRAMS / "conductor_python_program.py"), embedded_server_url, prefix],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(run["status"], run["output"]) for run in runs] == [
        ("COMPLETED", {"result": 2 * n + 1}) for n in range(5)
    ], done.stderr[-3000:]
    for run in runs:  # each task was run by one of its worker processes and reported once
        doc = requests.get(f"{embedded_server_url}/workflow/{run['id']}", timeout=10).json()
        assert [(t["referenceTaskName"], t["status"], t["pollCount"]) for t in doc["tasks"]] == [
            ("a", "COMPLETED", 1),
            ("b", "COMPLETED", 1),
        ]
        assert all(t.get("workerId") for t in doc["tasks"])
