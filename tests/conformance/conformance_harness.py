"""The conformance suite's harness: clients for one server plus unique names and small helpers.

``server_url`` (from tests/conftest.py) runs each test on the embedded server, Netflix 3.15.0 and OSS 3.32.3.
Tests use our clients,
and raw HTTP (``Harness.raw``) only where status codes, bodies or malformed requests are the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypeVar

import requests

from swift_conductor.clients import MetadataClient, TaskClient, WorkflowClient
from swift_conductor.http.models import Task, TaskDef, TaskResult, Workflow, WorkflowDef, WorkflowTask
from swift_conductor.http.models.task_result_status import TaskResultStatus
from tests.support.waiting import wait_for

T = TypeVar("T")
HTTP_TIMEOUT = (5.0, 15.0)  # every raw call is bounded: (connect, read) seconds

# (task name, reference name, inputParameters)
Step = Tuple[str, str, Dict[str, Any]]


class Raw:
    """Raw HTTP against one server's API root, bounded in time."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.root = api_url[: -len("/api")] if api_url.endswith("/api") else api_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        url = path if path.startswith("http") else f"{self.api_url}/{path.lstrip('/')}"
        return self.session.request(method, url, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Harness:
    """Clients for one server plus names unique to one test (the real server is shared)."""

    url: str
    prefix: str
    tasks: TaskClient
    workflows: WorkflowClient
    metadata: MetadataClient
    raw: Raw

    def name(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"

    def task_def(self, suffix: str, **fields: Any) -> str:
        """Register a task def (retry_count 0 unless given) and return its name."""
        name = self.name(suffix)
        fields.setdefault("retry_count", 0)
        self.metadata.register_task_defs([TaskDef(name=name, **fields)])
        return name

    def workflow(self, suffix: str, steps: Sequence[Step], output_parameters: Optional[Dict[str, Any]] = None) -> str:
        """Upsert a linear workflow of SIMPLE tasks and return its name."""
        name = self.name(suffix)
        self.metadata.upsert_workflow_defs(
            [
                WorkflowDef(
                    name=name,
                    version=1,
                    tasks=[
                        WorkflowTask(name=task, task_reference_name=ref, type="SIMPLE", input_parameters=params)
                        for task, ref, params in steps
                    ],
                    output_parameters=dict(output_parameters or {}),
                    schema_version=2,
                )
            ]
        )
        return name

    def single_task_workflow(self, task: str, suffix: str = "wf", params: Optional[Dict[str, Any]] = None) -> str:
        return self.workflow(suffix, [(task, "t", dict(params or {}))])

    def poll_until(self, task_type: str, timeout: float = 5.0, **kwargs: Any) -> Task:
        """Poll until a task arrives (for tasks postponed by a delay); fails after ``timeout`` seconds."""
        return wait_for(lambda: self.tasks.poll(task_type, **kwargs), timeout, f"a {task_type} task")

    def poll_one(self, task_type: str, **kwargs: Any) -> Task:
        task = self.tasks.poll(task_type, **kwargs)
        assert task is not None, f"expected a {task_type} task to be ready"
        return task

    def update(self, task: Task, status: TaskResultStatus, **fields: Any) -> str:
        return self.tasks.update_task(
            TaskResult(task_id=task.task_id, workflow_instance_id=task.workflow_instance_id, status=status, **fields)
        )

    def complete(self, task: Task, output: Optional[Dict[str, Any]] = None) -> str:
        return self.update(task, TaskResultStatus.COMPLETED, output_data=dict(output or {}))

    def workflow_state(self, workflow_id: str) -> Workflow:
        return self.workflows.get_workflow(workflow_id, include_tasks=True)

    def raw_workflow(self, workflow_id: str) -> Dict[str, Any]:
        response = self.raw.get(f"workflow/{workflow_id}", params={"includeTasks": "true"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def raw_tasks(self, workflow_id: str) -> List[Dict[str, Any]]:
        return list(self.raw_workflow(workflow_id)["tasks"])
