"""The engine: definitions, workflow runs, tasks, queues and long polls, all behind one lock.

The decider (decider.py, mixed in) schedules over each workflow's task graph. Every public method takes the lock,
changes state, and (where it returns a document) encodes JSON while still holding it, so that no
response can observe a half-applied change and no copies are needed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import errors
from .clock import Clock
from .decider import Decider
from .expressions import Resolver
from .graph import Graph
from .metadata import (
    check,
    normalize_task_def,
    normalize_workflow_def,
    require_list,
    task_def_defaults,
)
from .queues import TaskQueue
from .run import WorkflowRun

logger = logging.getLogger("swift_conductor.devserver")

Json = Dict[str, Any]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
MAX_BATCH_TIMEOUT_MS = 5000
MAX_REASON_LENGTH = 500
ACTIVE_WORKER_MS = 10_000  # a domain counts as active for fallback lists when polled this recently
RESULT_STATUSES = ("IN_PROGRESS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "COMPLETED")
TERMINAL_TASK = frozenset(
    {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED", "SKIPPED"}
)
TERMINAL_WORKFLOW = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})


_JAVA_LONG_MAX = 2**63 - 1


def _callback_seconds(raw: Any) -> int:
    """``callbackAfterSeconds`` as Jackson reads a long: numbers and numeric strings; anything else is a 500,
    checked before the task is touched so a bad value cannot leave it half-updated."""
    if raw is None:
        return 0
    if isinstance(raw, bool):
        raise errors.server_error("JSON parse error: Cannot deserialize value of type `long` from Boolean value")
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            raise errors.server_error(
                f'JSON parse error: Cannot deserialize value of type `long` from String "{raw}": '
                "not a valid `long` value"
            ) from None
    if not isinstance(value, (int, float)) or not -_JAVA_LONG_MAX <= value <= _JAVA_LONG_MAX:
        raise errors.server_error(f"JSON parse error: Numeric value ({raw}) out of range of `long`")
    return max(0, int(value))


def encode(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8")


class Engine(Decider):
    """All server state. Thread-safe; long polls wait on per-queue Conditions sharing the one lock."""

    def __init__(self, time_control: bool = False) -> None:
        self._lock = threading.Lock()
        #: All engine time; ``advance`` moves it when time control is on.
        self.clock = Clock(time_control)
        self._task_defs: Dict[str, Json] = {}
        self._workflow_defs: Dict[str, Dict[int, Json]] = {}
        self._workflows: Dict[str, WorkflowRun] = {}
        self._tasks: Dict[str, Json] = {}
        self._logs: Dict[str, List[Json]] = {}
        self._queues: Dict[str, TaskQueue] = {}
        self._poll_data: Dict[str, Dict[Optional[str], Json]] = {}
        self._in_progress: Dict[str, None] = {}  # task ids whose response timeout is being watched
        self._timers: List[Tuple[float, str]] = []  # (due on the clock's monotonic scale, WAIT task id)
        # stored definition id -> (that definition, its runtime copy, its graph); cleared when task defs change
        self._prepared: Dict[int, Tuple[Json, Json, Graph]] = {}
        self._closed = False

    # ------------------------------------------------------------------ task definitions
    def register_task_defs(self, body: Any) -> None:
        items = require_list(body, "com.netflix.conductor.common.metadata.tasks.TaskDef")
        problems: List[Json] = []
        defs = [
            normalize_task_def(raw, f"registerTaskDef.taskDefinitions[{i}]", problems) for i, raw in enumerate(items)
        ]
        check(problems)
        now = self.clock.now_ms()
        with self._lock:
            for td in defs:
                td.setdefault("createTime", now)
                td.setdefault("createdBy", "")
                self._task_defs[td["name"]] = td
            self._prepared.clear()
            self._prepared.clear()

    def update_task_def(self, body: Any) -> None:
        problems: List[Json] = []
        td = normalize_task_def(body, "updateTaskDef.taskDef", problems)
        check(problems)
        with self._lock:
            old = self._task_defs.get(td["name"])
            if old is None:
                raise errors.not_found(f"No such task by name {td['name']}")
            td.pop("createTime", None)
            td["updateTime"] = self.clock.now_ms()
            td.setdefault("updatedBy", "")
            self._task_defs[td["name"]] = td

    def get_task_def(self, name: str) -> bytes:
        with self._lock:
            td = self._task_defs.get(name)
            if td is None:
                raise errors.not_found(f"No such taskType found by name: {name}")
            return encode(td)

    def get_task_defs(self) -> bytes:
        with self._lock:
            return encode(list(self._task_defs.values()))

    def delete_task_def(self, name: str) -> None:
        with self._lock:
            if self._task_defs.pop(name, None) is None:
                raise errors.not_found("Cannot remove the task - no such task definition")

    # ------------------------------------------------------------------ workflow definitions
    def register_workflow_def(self, body: Any) -> None:
        problems: List[Json] = []
        wd = normalize_workflow_def(body, "registerWorkflowDef.workflowDef", problems)
        check(problems)
        with self._lock:
            versions = self._workflow_defs.setdefault(wd["name"], {})
            if wd["version"] in versions:
                raise errors.conflict(f"Workflow with {wd['name']}.{wd['version']} already exists!")
            wd.setdefault("createTime", self.clock.now_ms())
            versions[wd["version"]] = wd
            self._prepared.clear()

    def upsert_workflow_defs(self, body: Any) -> bytes:
        items = require_list(body, "com.netflix.conductor.common.metadata.workflow.WorkflowDef")
        problems: List[Json] = []
        defs = [
            normalize_workflow_def(raw, f"updateWorkflowDef.workflowDefList[{i}]", problems)
            for i, raw in enumerate(items)
        ]
        check(problems)
        now = self.clock.now_ms()
        with self._lock:
            for wd in defs:
                versions = self._workflow_defs.setdefault(wd["name"], {})
                old = versions.get(wd["version"])
                if old is not None:
                    wd.setdefault("createTime", old.get("createTime", now))
                    wd["updateTime"] = now
                else:
                    wd.setdefault("createTime", now)
                versions[wd["version"]] = wd
            self._prepared.clear()
        return encode({"bulkErrorResults": {}, "bulkSuccessfulResults": [wd["name"] for wd in defs]})

    def _find_workflow_def(self, name: str, version: Optional[int]) -> Json:
        versions = self._workflow_defs.get(name)
        wd = None
        if versions:
            wd = versions[max(versions)] if version is None else versions.get(version)
        if wd is None:
            raise errors.not_found(
                f"No such workflow found by name: {name}, version: {version if version is not None else 'null'}"
            )
        return wd

    def get_workflow_def(self, name: str, version: Optional[int]) -> bytes:
        with self._lock:
            return encode(self._find_workflow_def(name, version))

    def get_workflow_defs(self) -> bytes:
        with self._lock:
            return encode([wd for versions in self._workflow_defs.values() for wd in versions.values()])

    def delete_workflow_def(self, name: str, version: int) -> None:
        with self._lock:
            versions = self._workflow_defs.get(name)
            if not versions or versions.pop(version, None) is None:
                raise errors.not_found(
                    f"Cannot remove the workflow - no such workflow definition: {name} version: {version}"
                )
            if not versions:
                del self._workflow_defs[name]
            self._prepared.clear()

    # ------------------------------------------------------------------ workflows
    def start_workflow(
        self,
        name: Any,
        version: Optional[int],
        correlation_id: Optional[str],
        workflow_input: Any,
        task_to_domain: Any = None,
        priority: Any = None,
    ) -> str:
        if not isinstance(workflow_input, dict):
            raise errors.server_error(
                "JSON parse error: Cannot deserialize value of type "
                "`java.util.LinkedHashMap<java.lang.String,java.lang.Object>`"
            )
        if task_to_domain is not None and not isinstance(task_to_domain, dict):
            raise errors.server_error("JSON parse error: taskToDomain must be an object")
        with self._lock:
            wd = self._find_workflow_def(name, version)
            run = self._create_run(wd, workflow_input, correlation_id, task_to_domain, priority)
            return str(run.doc["workflowId"])

    def _create_run(
        self,
        wd: Json,
        workflow_input: Json,
        correlation_id: Optional[str],
        task_to_domain: Any,
        priority: Any,
        parent: Optional[Json] = None,
    ) -> WorkflowRun:
        now = self.clock.now_ms()
        workflow_id = str(uuid.uuid4())
        definition, graph = self._prepare(wd)
        doc: Json = {
            "ownerApp": "",
            "createTime": now,
            "updateTime": now,
            "status": "RUNNING",
            "endTime": 0,
            "workflowId": workflow_id,
            "input": workflow_input,
            "output": {},
            "taskToDomain": dict(task_to_domain or {}),
            "failedReferenceTaskNames": [],
            "failedTaskNames": [],
            "workflowDefinition": definition,
            "priority": priority if isinstance(priority, int) else 0,
            "variables": dict(wd.get("variables") or {}),
            "lastRetriedTime": 0,
            "workflowName": wd["name"],
            "startTime": now,
            "workflowVersion": wd["version"],
            "tasks": [],
        }
        if correlation_id is not None:
            doc["correlationId"] = correlation_id
        if parent is not None:
            doc["parentWorkflowId"] = parent["workflowId"]
            doc["parentWorkflowTaskId"] = parent["taskId"]
        run = WorkflowRun(doc, definition, graph)
        self._workflows[workflow_id] = run
        self._watch_workflow_timeout(run)
        try:
            first = self._schedule(run, definition["tasks"][0], now)
            if first["status"] != "SCHEDULED":  # a system task ran: let the decider carry on
                self._decide(run)
        except Exception:
            self.remove_quietly(run)  # a start that failed leaves nothing behind
            raise
        return run

    def _prepare(self, wd: Json) -> Tuple[Json, Graph]:
        """The runtime definition and task graph of a stored definition, shared by its runs (both read-only)."""
        cached = self._prepared.get(id(wd))
        if cached is not None and cached[0] is wd:
            return cached[1], cached[2]
        runtime = self._runtime_definition(wd)
        graph = Graph(runtime["tasks"])
        if self._workflow_defs.get(wd["name"], {}).get(wd["version"]) is wd:  # not an inline sub-workflow
            self._prepared[id(wd)] = (wd, runtime, graph)
        return runtime, graph

    def _runtime_definition(self, wd: Json) -> Json:
        """The definition copy a run keeps, each task carrying its (possibly ad-hoc) task definition."""
        runtime = dict(wd)
        tasks = []
        for wt in wd["tasks"]:
            wt = dict(wt)
            if "taskDefinition" not in wt and wt.get("type") in ("SIMPLE", "CUSTOM"):
                wt["taskDefinition"] = self._task_defs.get(wt["name"]) or task_def_defaults(wt["name"])
            tasks.append(wt)
        runtime["tasks"] = tasks
        return runtime

    def get_workflow(self, workflow_id: str, include_tasks: bool = True) -> bytes:
        with self._lock:
            run = self._run(workflow_id)
            self._check_timeouts(run)
            if include_tasks:
                return encode(run.doc)
            doc = dict(run.doc)
            doc["tasks"] = []
            return encode(doc)

    def _run(self, workflow_id: str) -> WorkflowRun:
        run = self._workflows.get(workflow_id)
        if run is None:
            raise errors.not_found(f"No such workflow found by id: {workflow_id}")
        return run

    def terminate(self, workflow_id: str, reason: Optional[str]) -> None:
        with self._lock:
            run = self._run(workflow_id)
            status = run.doc["status"]
            if status == "COMPLETED":
                raise errors.conflict("Cannot terminate a COMPLETED workflow.")
            if status == "TERMINATED":
                return
            if status in TERMINAL_WORKFLOW:  # verified for FAILED: the real server re-labels it TERMINATED
                run.doc["status"] = "TERMINATED"
                run.doc["reasonForIncompletion"] = reason
                return
            self._finish(run, "TERMINATED", reason, self.clock.now_ms())

    def remove_quietly(self, run: WorkflowRun) -> None:
        for task in run.doc["tasks"]:
            self._unqueue(task)
            self._tasks.pop(task["taskId"], None)
        self._workflows.pop(run.doc["workflowId"], None)

    def remove(self, workflow_id: str) -> None:
        with self._lock:
            run = self._run(workflow_id)
            for task in run.doc["tasks"]:
                self._unqueue(task)
                self._tasks.pop(task["taskId"], None)
                self._logs.pop(task["taskId"], None)
            del self._workflows[workflow_id]
            status = run.doc["status"]
            if status not in TERMINAL_WORKFLOW:
                # Verified quirk of the real server: a running workflow is deleted all the same, then the
                # failed archive step answers 400.
                raise errors.bad_request(f"Cannot archive workflow: {workflow_id} with status: {status}")

    def decide(self, workflow_id: str) -> None:
        with self._lock:
            run = self._run(workflow_id)
            self._check_timeouts(run)
            self._decide(run)

    # ------------------------------------------------------------------ tasks
    def poll(
        self, task_type: str, worker_id: Optional[str], domain: Optional[str], count: int, timeout_ms: int
    ) -> bytes:
        """Hand out up to ``count`` tasks, waiting up to ``timeout_ms`` only while none is ready."""
        if timeout_ms > MAX_BATCH_TIMEOUT_MS:
            raise errors.bad_request("Long Poll Timeout value cannot be more than 5 seconds")
        name = task_type if domain is None else f"{domain}:{task_type}"
        with self._lock:
            queue = self._queue(name)
            now_wall = self.clock.now_ms()
            entry: Json = {"queueName": task_type}
            if domain is not None:
                entry["domain"] = domain
            if worker_id is not None:
                entry["workerId"] = worker_id
            entry["lastPollTime"] = now_wall
            self._poll_data.setdefault(task_type, {})[domain] = entry
            if count <= 0:
                return b"[]"
            # The poll's own wait is real time (it is an HTTP request); due times are on the engine clock.
            deadline = time.monotonic() + max(timeout_ms, 0) / 1000.0
            clock = self.clock
            queue.promote(clock.monotonic())
            while not queue.ready and not self._closed:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                due = queue.next_due()
                if due is not None:
                    wait = min(wait, max(due - clock.monotonic(), 0.0))
                queue.waiters += 1
                try:
                    queue.cond.wait(wait)
                finally:
                    queue.waiters -= 1
                queue.promote(clock.monotonic())
            polled: List[Json] = []
            now_wall = self.clock.now_ms()
            while queue.ready and len(polled) < count:
                task = self._tasks.get(queue.pop())
                if task is None or task["status"] != "SCHEDULED":
                    continue
                task["status"] = "IN_PROGRESS"
                if worker_id is None:
                    task.pop("workerId", None)
                else:
                    task["workerId"] = worker_id
                if not task["startTime"]:
                    task["startTime"] = now_wall
                    task["queueWaitTime"] = now_wall - task["scheduledTime"]
                task["updateTime"] = now_wall
                task["pollCount"] += 1
                task["callbackAfterSeconds"] = 0
                self._in_progress[task["taskId"]] = None
                polled.append(task)
            if queue.ready and queue.waiters:
                queue.cond.notify()
            return encode(polled)

    def update_task(self, result: Any) -> str:
        if not isinstance(result, dict):
            raise errors.server_error("JSON parse error: Cannot deserialize value of type `TaskResult`")
        task_id = result.get("taskId")
        workflow_id = result.get("workflowInstanceId")
        problems = []
        if not isinstance(task_id, str) or not task_id:
            problems.append(errors.violation("updateTask.taskResult.taskId", "Task ID cannot be null or empty"))
        if not isinstance(workflow_id, str) or not workflow_id:
            problems.append(
                errors.violation("updateTask.taskResult.workflowInstanceId", "Workflow Id cannot be null or empty")
            )
        check(problems)
        assert isinstance(task_id, str) and isinstance(workflow_id, str)
        status = result.get("status")
        if status is not None and status not in RESULT_STATUSES:
            raise errors.server_error(
                f'JSON parse error: Cannot deserialize value of type `TaskResult$Status` from String "{status}": '
                "not one of the values accepted for Enum class: "
                "[IN_PROGRESS, FAILED, FAILED_WITH_TERMINAL_ERROR, COMPLETED]"
            )
        output = result.get("outputData")
        if output is not None and not isinstance(output, dict):
            raise errors.server_error("JSON parse error: outputData must be an object")
        logs = result.get("logs")
        callback = _callback_seconds(result.get("callbackAfterSeconds")) if status == "IN_PROGRESS" else 0
        with self._lock:
            run = self._workflows.get(workflow_id)
            if run is None:
                raise errors.not_found(f"No such workflow found by id: {workflow_id}")
            task = self._tasks.get(task_id)
            if task is None or task["workflowInstanceId"] != workflow_id:
                raise errors.not_found(f"No such task found by id: {task_id}")
            if status is None:
                raise errors.server_error(
                    'Cannot invoke "com.netflix.conductor.common.metadata.tasks.TaskResult$Status.name()" because the '
                    'return value of "com.netflix.conductor.common.metadata.tasks.TaskResult.getStatus()" is null'
                )
            if isinstance(logs, list):
                self._add_logs(task_id, logs)
            if run.doc["status"] in TERMINAL_WORKFLOW or task["status"] in TERMINAL_TASK:
                return task_id  # the real server ignores updates to finished work and says 200
            now = self.clock.now_ms()
            if result.get("extendLease") is True:
                task["updateTime"] = now
                return task_id
            worker = result.get("workerId")
            if worker is None:
                task.pop("workerId", None)
            else:
                task["workerId"] = worker
            task["outputData"] = output if output is not None else {}
            reason = result.get("reasonForIncompletion")
            if isinstance(reason, str):
                task["reasonForIncompletion"] = reason[:MAX_REASON_LENGTH]
            self._in_progress.pop(task_id, None)
            if status == "IN_PROGRESS":
                task["status"] = "SCHEDULED"
                task["callbackAfterSeconds"] = callback
                task["updateTime"] = now
                self._queue(self._queue_name(task)).push(task_id, callback)
                return task_id
            task["status"] = status
            task["endTime"] = now
            self._unqueue(task)
            self._decide(run)
            return task_id

    def get_task(self, task_id: str) -> Optional[bytes]:
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else encode(task)

    def add_log(self, task_id: str, message: str) -> None:
        with self._lock:
            self._add_logs(task_id, [{"log": message, "taskId": task_id, "createdTime": self.clock.now_ms()}])

    def _add_logs(self, task_id: str, logs: Iterable[Any]) -> None:
        kept = self._logs.setdefault(task_id, [])
        for item in logs:
            if isinstance(item, dict) and item.get("log") is not None:
                kept.append(
                    {
                        "log": str(item["log"]),
                        "taskId": task_id,
                        "createdTime": item.get("createdTime") or self.clock.now_ms(),
                    }
                )

    def get_logs(self, task_id: str) -> bytes:
        with self._lock:
            return encode(self._logs.get(task_id, []))

    def queue_sizes(self, names: List[str]) -> bytes:
        with self._lock:
            return encode({name: len(self._queues[name]) if name in self._queues else 0 for name in names})

    def poll_data(self, task_type: str) -> bytes:
        with self._lock:
            return encode(list(self._poll_data.get(task_type, {}).values()))

    def update_task_v2(self, result: Any) -> Optional[bytes]:
        """OSS 3.32's update-v2: report a result, then hand the reporting worker its next task of the same type.

        As there, the next task is polled only after a final status (a result for work already finished counts
        too), with the result's ``workerId`` and the reported task's own domain, waiting up to 100 ms like the
        single poll. None (a 204) after IN_PROGRESS, a lease extension, or when no task is ready."""
        self.update_task(result)
        if result.get("extendLease") is True:
            return None
        with self._lock:
            task = self._tasks.get(result["taskId"])
            if task is None or task["status"] not in TERMINAL_TASK:
                return None
            task_type, domain = task["taskType"], task.get("domain")
        worker = result.get("workerId")
        body = self.poll(task_type, None if worker is None else str(worker), domain, 1, 100)
        return None if body == b"[]" else body[1:-1]

    def remove_finished(self, workflow_id: str) -> None:
        """Remove a finished workflow; a running one is refused with 400 and kept, as OSS 3.32 does (Netflix 3.15
        answers the same 400 but has deleted it: ``remove``)."""
        with self._lock:
            status = self._run(workflow_id).doc["status"]
            if status not in TERMINAL_WORKFLOW:
                raise errors.bad_request(f"Cannot archive workflow: {workflow_id} with status: {status}")
        self.remove(workflow_id)

    # ------------------------------------------------------------------ background work
    def sweep(self) -> None:
        """Time out IN_PROGRESS tasks past their responseTimeoutSeconds (the real server's sweeper job)."""
        with self._lock:
            self._sweep()

    def advance(self, seconds: float) -> int:
        """Move the engine clock forward (time control only) and make due at once whatever became due:
        postponed queue entries (retry delays, callbacks) wake their long polls, response timeouts fire.
        Returns the new time in epoch ms."""
        with self._lock:
            self.clock.advance(seconds)
            now = self.clock.monotonic()
            for queue in self._queues.values():
                if queue.delayed:
                    queue.promote(now)
                    if queue.ready and queue.waiters:
                        queue.cond.notify_all()
            self._sweep()
            return self.clock.now_ms()

    def clock_state(self) -> bytes:
        with self._lock:
            return encode({"now": self.clock.now_ms(), "offsetMs": self.clock.offset_ms})

    def _sweep(self) -> None:
        if self._timers:
            self._fire_timers()
        if not self._in_progress:
            return
        now = self.clock.now_ms()
        for task_id in list(self._in_progress):
            task = self._tasks.get(task_id)
            if task is None or task["status"] != "IN_PROGRESS":
                self._in_progress.pop(task_id, None)
            elif self._expired(task, now):
                run = self._workflows.get(task["workflowInstanceId"])
                self._time_out(task, now)
                if run is not None:
                    self._decide(run)

    def open(self) -> None:
        """Accept long polls again (after a ``close()``, when a stopped server starts again)."""
        with self._lock:
            self._closed = False

    def close(self) -> None:
        """Release every waiting long poll (used on shutdown)."""
        with self._lock:
            self._closed = True
            for queue in self._queues.values():
                queue.cond.notify_all()

    # ------------------------------------------------------------------ internals (lock held)
    def _queue(self, name: str) -> TaskQueue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = TaskQueue(name, self._lock, self.clock)
        return queue

    @staticmethod
    def _queue_name(task: Json) -> str:
        domain = task.get("domain")
        return task["taskType"] if domain is None else f"{domain}:{task['taskType']}"

    def _unqueue(self, task: Json) -> None:
        queue = self._queues.get(self._queue_name(task))
        if queue is not None:
            queue.remove(task["taskId"])
        self._in_progress.pop(task["taskId"], None)

    def _active_domain(self, task_type: str, spec: Any) -> Optional[str]:
        """A ``"d1,d2"`` fallback list picks the first domain a worker polled in the last 10 s (as the real
        server's activeWorkerLastPollTimeout), else the last one; ``NO_DOMAIN`` stands for no domain."""
        if not isinstance(spec, str) or not spec:
            return None
        domains = [d.strip() for d in spec.split(",") if d.strip()]
        if not domains:
            return None
        polls = self._poll_data.get(task_type, {})
        recent = self.clock.now_ms() - ACTIVE_WORKER_MS
        chosen = next(
            (d for d in domains if d != "NO_DOMAIN" and polls.get(d, {}).get("lastPollTime", 0) >= recent),
            domains[-1],
        )
        return None if chosen == "NO_DOMAIN" else chosen

    def _expired(self, task: Json, now: int) -> bool:
        timeout = task.get("responseTimeoutSeconds") or 0
        return timeout > 0 and now - task["updateTime"] >= timeout * 1000

    def _time_out(self, task: Json, now: int) -> None:
        task["status"] = "TIMED_OUT"
        task["reasonForIncompletion"] = (
            f"responseTimeout: {task['responseTimeoutSeconds']} exceeded for the taskId: {task['taskId']} "
            f"with Task Definition: {task['taskDefName']}"
        )
        task["endTime"] = now
        self._unqueue(task)
        logger.debug("task %s timed out", task["taskId"])

    def _check_timeouts(self, run: WorkflowRun) -> None:
        if run.doc["status"] != "RUNNING":
            return
        now = self.clock.now_ms()
        expired = False
        for task in run.doc["tasks"]:
            if task["status"] == "IN_PROGRESS" and self._expired(task, now):
                self._time_out(task, now)
                expired = True
        if expired:
            self._decide(run)

    def _retry(self, run: WorkflowRun, task: Json, td: Json, now: int) -> None:
        delay = td.get("retryDelaySeconds", 0)
        logic = td.get("retryLogic", "FIXED")
        if logic == "LINEAR_BACKOFF":
            delay = delay * td.get("backoffScaleFactor", 1) * (task["retryCount"] + 1)
        elif logic == "EXPONENTIAL_BACKOFF":
            delay = delay * (2 ** task["retryCount"])
        task["retried"] = True
        retry = dict(task)
        retry["outputData"] = dict(task["outputData"])
        for key in ("reasonForIncompletion", "workerId", "retried"):
            retry.pop(key, None)
        retry.update(
            taskId=str(uuid.uuid4()),
            retryCount=task["retryCount"] + 1,
            retriedTaskId=task["taskId"],
            seq=len(run.doc["tasks"]) + 1,
            status="SCHEDULED",
            scheduledTime=now,
            startTime=0,
            endTime=0,
            pollCount=0,
            callbackAfterSeconds=delay,
            retried=False,
            executed=False,
            queueWaitTime=0,
        )
        self._add_task(run, retry, delay)

    def _finish(
        self, run: WorkflowRun, status: str, reason: Optional[str], now: int, output: Optional[Json] = None
    ) -> None:
        doc = run.doc
        children: List[str] = []
        for task in doc["tasks"]:
            if task["status"] not in TERMINAL_TASK:
                task["status"] = "CANCELED"
                task["endTime"] = now
                self._unqueue(task)
                if task.get("subWorkflowId"):
                    children.append(task["subWorkflowId"])
        doc["status"] = status
        if reason is not None:
            doc["reasonForIncompletion"] = reason
        doc["output"] = self._workflow_output(run) if output is None else output
        doc["endTime"] = now
        doc["updateTime"] = now
        logger.debug("workflow %s %s", doc["workflowId"], status)
        if status in ("FAILED", "TIMED_OUT") and run.definition.get("failureWorkflow"):
            self._start_failure_workflow(run)
        for child_id in children:  # a finished parent takes its running sub-workflows with it
            child = self._workflows.get(child_id)
            if child is not None and child.doc["status"] == "RUNNING":
                self._finish(child, "TERMINATED", f"Parent workflow {doc['workflowId']} ended: {status}", now)
        if "parentWorkflowTaskId" in doc:
            self._child_finished(run)

    def _start_failure_workflow(self, run: WorkflowRun) -> None:
        """The definition's ``failureWorkflow`` starts with the failed run's input plus what went wrong, and the
        failed run's output names it (``conductor.failure_workflow``), as on both real servers."""
        doc = run.doc
        name = run.definition["failureWorkflow"]
        versions = self._workflow_defs.get(name)
        if name == doc["workflowName"]:  # a failure workflow failing would start itself forever
            return
        if not versions:
            logger.warning("failure workflow %s of %s is not defined", name, doc["workflowName"])
            return
        failed = next(
            (t for t in reversed(doc["tasks"]) if t["status"] in ("FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT")),
            doc["tasks"][-1] if doc["tasks"] else None,
        )
        failure_input = dict(doc["input"])
        failure_input.update(
            reason=doc.get("reasonForIncompletion"),
            failureTaskId=failed["taskId"] if failed else None,
            failedWorkflow=json.loads(encode(doc)),
            workflowId=doc["workflowId"],
            failureStatus=doc["status"],
        )
        started = self._create_run(
            versions[max(versions)], failure_input, doc.get("correlationId"), doc["taskToDomain"], doc["priority"]
        )
        doc["output"] = {"conductor.failure_workflow": started.doc["workflowId"], **doc["output"]}

    def _workflow_output(self, run: WorkflowRun) -> Json:
        params = run.definition.get("outputParameters")
        if params:
            out = Resolver(run.lookup).resolve(params)
            return out if isinstance(out, dict) else {}
        tasks = run.doc["tasks"]
        return dict(tasks[-1]["outputData"]) if tasks else {}

    def _add_task(self, run: WorkflowRun, task: Json, delay_seconds: float) -> None:
        """Add a worker task (a retry) to the run and its queue."""
        run.doc["tasks"].append(task)
        run.latest[task["referenceTaskName"]] = task
        run.latest[task["workflowTask"]["taskReferenceName"]] = task
        self._tasks[task["taskId"]] = task
        self._queue(self._queue_name(task)).push(task["taskId"], delay_seconds)
