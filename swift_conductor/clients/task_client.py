from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..configuration import Configuration
from ..http.models import Task, TaskExecLog, TaskResult
from ..http.transport import ApiClient, segment

MAX_LONG_POLL_MS = 5000  # the server answers 400 above this


class TaskClient:
    """The task endpoints a worker uses: poll, report, log."""

    def __init__(self, configuration: Optional[Configuration] = None, *, api: Optional[ApiClient] = None):
        self.api = api or ApiClient(configuration)

    def poll(self, task_type: str, *, worker_id: Optional[str] = None, domain: Optional[str] = None) -> Optional[Task]:
        """One task of ``task_type``, or None when the queue is empty (the server answers 204)."""
        data = self.api.request(
            "GET", f"{self.api.path('tasks')}/poll/{segment(task_type)}", params=_poll_params(worker_id, domain)
        )
        return Task.from_dict(data) if isinstance(data, dict) else None

    def batch_poll(
        self,
        task_type: str,
        *,
        count: int = 1,
        timeout_ms: int = 100,
        worker_id: Optional[str] = None,
        domain: Optional[str] = None,
    ) -> List[Task]:
        """Up to ``count`` tasks, waiting up to ``timeout_ms`` on the server (a long poll, at most 5000)."""
        if count < 1:
            raise ValueError(f"batch_poll: count must be >= 1, got {count}")
        if not 0 <= timeout_ms <= MAX_LONG_POLL_MS:
            raise ValueError(f"batch_poll: timeout_ms must be within 0..{MAX_LONG_POLL_MS}, got {timeout_ms}")
        params: Dict[str, Any] = {**_poll_params(worker_id, domain), "count": count, "timeout": timeout_ms}
        data = self.api.request(
            "GET",
            f"{self.api.path('tasks')}/poll/batch/{segment(task_type)}",
            params=params,
            read_timeout=self.api.configuration.read_timeout + timeout_ms / 1000,
        )
        return [Task.from_dict(item) for item in data or () if isinstance(item, dict)]

    def update_task(self, result: TaskResult) -> str:
        """Report a result; returns the task id the server echoes."""
        if not result.task_id or not result.workflow_instance_id:
            raise ValueError("update_task: TaskResult needs task_id and workflow_instance_id")
        answer = self.api.request("POST", self.api.path("tasks"), json_body=result.to_dict())
        return str(answer) if answer is not None else result.task_id

    def add_log(self, task_id: str, message: str) -> None:
        self.api.request("POST", f"{self.api.path('tasks')}/{segment(task_id)}/log", text_body=message)

    def get_task_logs(self, task_id: str) -> List[TaskExecLog]:
        data = self.api.request("GET", f"{self.api.path('tasks')}/{segment(task_id)}/log")
        return [TaskExecLog.from_dict(item) for item in data or () if isinstance(item, dict)]

    def get_task(self, task_id: str) -> Optional[Task]:
        data = self.api.request("GET", f"{self.api.path('tasks')}/{segment(task_id)}")
        return Task.from_dict(data) if isinstance(data, dict) else None

    def queue_sizes(self, *task_types: str) -> Dict[str, int]:
        """Pending tasks per type (tasks in a domain queue are counted under ``domain:type`` keys only)."""
        if not task_types:
            return {}
        data = self.api.request("GET", f"{self.api.path('tasks')}/queue/sizes", params={"taskType": list(task_types)})
        return {str(k): int(v) for k, v in (data or {}).items()}

    def poll_data(self, task_type: str) -> List[Dict[str, Any]]:
        """Who polled a task type last, per domain (``workerId``, ``lastPollTime``)."""
        data = self.api.request(
            "GET", f"{self.api.path('tasks')}/{self.api.path('polldata')}", params={"taskType": task_type}
        )
        return list(data or [])


def _poll_params(worker_id: Optional[str], domain: Optional[str]) -> Dict[str, Any]:
    # An empty ``domain=`` would poll a queue named ":type" on the real server: omit it instead.
    params: Dict[str, Any] = {}
    if worker_id:
        params["workerid"] = worker_id
    if domain:
        params["domain"] = domain
    return params
