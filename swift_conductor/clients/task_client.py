from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from ..errors import ConductorApiError, ConductorError, InvalidResponseError
from ..http.api_client import segment
from ..http.models import Task, TaskExecLog, TaskResult
from .base import Client

MAX_LONG_POLL_MS = 5000  # the server answers 400 above this

logger = logging.getLogger("swift_conductor.http")


class TaskClient(Client):
    """The task endpoints a worker uses: poll, report, log."""

    def poll(self, task_type: str, *, worker_id: Optional[str] = None, domain: Optional[str] = None) -> Optional[Task]:
        """One task of ``task_type``, or None when the queue is empty (the server answers 204)."""
        data = self.api.request(
            "GET",
            f"{self.api.path('tasks')}/poll/{segment(task_type)}",
            params=_poll_params(worker_id, domain),
            idempotent=False,
            expect_json=True,
        )
        if data is None:
            return None
        tasks = _tasks(data if isinstance(data, list) else [data], task_type)
        return tasks[0] if tasks else None

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
            idempotent=False,  # a poll dequeues: never sent twice (see swift_conductor.http.transports)
            expect_json=True,
        )
        if data is None:
            return []
        if not isinstance(data, list):
            raise InvalidResponseError(
                f"poll for {task_type}: the server answered a JSON {type(data).__name__}, not a list of tasks"
            )
        return _tasks(data, task_type)

    def update_task(self, result: TaskResult) -> str:
        """Report a result; returns the task id the server echoes."""
        if not result.task_id or not result.workflow_instance_id:
            raise ValueError("update_task: TaskResult needs task_id and workflow_instance_id")
        answer = self.api.request("POST", self.api.path("tasks"), json_body=result.to_dict(), idempotent=True)
        return str(answer) if answer is not None else result.task_id

    def update_task_v2(self, result: TaskResult) -> Optional[Task]:
        """Report a result and take the same worker's next task of that type in one call (Conductor OSS 3.2x's
        ``POST /tasks/update-v2``); None when there is none. Servers without it answer 404, 405 or (Netflix
        3.15) 500 "not supported": see :func:`update_v2_unsupported`.

        Never sent twice by the transport: its answer hands out a task."""
        if not result.task_id or not result.workflow_instance_id:
            raise ValueError("update_task_v2: TaskResult needs task_id and workflow_instance_id")
        data = self.api.request(
            "POST",
            f"{self.api.path('tasks')}/update-v2",
            json_body=result.to_dict(),
            idempotent=False,
            expect_json=True,
        )
        if data is None:
            return None
        tasks = _tasks([data], result.task_id)
        return tasks[0] if tasks else None

    def supports_update_v2(self) -> Optional[bool]:
        """Whether the server has ``POST /tasks/update-v2``: asked once per server and process with a result for
        ids that do not exist (no effect anywhere), then remembered. None while the server cannot be reached."""
        facts = self.api.facts
        if facts.update_v2 is None:
            probe = TaskResult(task_id="_swift_conductor_probe", workflow_instance_id="_swift_conductor_probe")
            probe.status = "COMPLETED"
            try:
                self.update_task_v2(probe)
                facts.update_v2 = True
            except ConductorError as exc:
                if update_v2_unsupported(exc):
                    facts.update_v2 = False
                elif isinstance(exc, ConductorApiError) and exc.status in (400, 404):
                    facts.update_v2 = True  # it looked the ids up: the path exists
                else:
                    return None  # away or failing: ask again next time
            logger.debug(
                "server at %s %s update-v2",
                self.api.configuration.server_api_url,
                "has" if facts.update_v2 else "lacks",
            )
        return facts.update_v2

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


def update_v2_unsupported(exc: BaseException) -> bool:
    """True when an update-v2 call failed because the server lacks the path: 405, a 404 that is not about a task
    or workflow (those say "No such ..."), or Netflix 3.15's 500 "Request method 'POST' not supported"."""
    if not isinstance(exc, ConductorApiError):
        return False
    if exc.status == 405:
        return True
    if exc.status == 404:
        return not exc.message.startswith("No such")
    return exc.status == 500 and "not supported" in exc.message and "Request method" in exc.message


def _tasks(items: List[Any], what: str) -> List[Task]:
    """Tasks from a poll answer. A task without the ids a result needs cannot be reported: it is refused here,
    before anything runs it, and logged (the server will time it out and hand it out again)."""
    tasks = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidResponseError(f"poll for {what}: expected task objects, got a JSON {type(item).__name__}")
        task = Task.from_dict(item)
        if not task.task_id or not task.workflow_instance_id:
            logger.error(
                "poll for %s: the server sent a task without %s; refusing it (nothing can report its result)",
                what,
                "taskId" if not task.task_id else "workflowInstanceId",
            )
            continue
        tasks.append(task)
    return tasks


def _poll_params(worker_id: Optional[str], domain: Optional[str]) -> Dict[str, Any]:
    # An empty ``domain=`` would poll a queue named ":type" on the real server: omit it instead.
    params: Dict[str, Any] = {}
    if worker_id:
        params["workerid"] = worker_id
    if domain:
        params["domain"] = domain
    return params
