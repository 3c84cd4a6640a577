"""The decider: after any change to a workflow, schedule what comes next over its task graph.

As the real server does, every decide pass looks at the tasks that finished since the last pass: a finished
task schedules what follows it in the definition (a SWITCH its chosen branch, a FORK the first task of each
branch and its JOIN, the end of a loop body its DO_WHILE's next iteration), a failed one is retried, skipped
if optional, or fails the workflow. System tasks that compute (SWITCH, INLINE, SET_VARIABLE, ...) finish inside
the pass that schedules them; JOIN and DO_WHILE are re-checked each pass; WAIT, HUMAN and SUB_WORKFLOW end by
an update, a timer or their child workflow. The pass repeats until nothing changes, then the workflow
completes once every task is done.

A mixin of ``Engine`` (state.py): all methods run with the engine lock held.
"""

from __future__ import annotations

import heapq
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import system_tasks as st
from .errors import ApiError
from .expressions import Resolver
from .graph import END_OF_LOOP, Next
from .http_task import perform as perform_http
from .metadata import task_def_defaults
from .run import WorkflowRun
from .scripting import MissingExtra, ScriptError

if TYPE_CHECKING:
    from .clock import Clock
    from .queues import TaskQueue

logger = logging.getLogger("swift_conductor.devserver")

Json = Dict[str, Any]
OK_TASK = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "SKIPPED"})
TERMINAL_TASK = frozenset(
    {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED", "SKIPPED"}
)
WORKFLOW_TIMER = "workflow:"  # timer entries for workflow timeouts carry this prefix before the workflow id
MAX_PASSES = 100_000  # a bound, far above any real workflow, so a definition bug cannot spin forever


class Decider:
    """Scheduling over the task graph; mixed into Engine, which provides the state below."""

    clock: Clock
    _lock: threading.Lock
    _tasks: Dict[str, Json]
    _workflows: Dict[str, WorkflowRun]
    _task_defs: Dict[str, Json]
    _timers: List[Tuple[float, str]]

    # Provided by Engine.
    def _queue(self, name: str) -> TaskQueue:
        raise NotImplementedError

    def _queue_name(self, task: Json) -> str:
        raise NotImplementedError

    def _unqueue(self, task: Json) -> None:
        raise NotImplementedError

    def _active_domain(self, task_type: str, spec: Any) -> Optional[str]:
        raise NotImplementedError

    def _retry(self, run: WorkflowRun, task: Json, td: Json, now: int) -> None:
        raise NotImplementedError

    def _finish(
        self, run: WorkflowRun, status: str, reason: Optional[str], now: int, output: Optional[Json] = None
    ) -> None:
        raise NotImplementedError

    def _create_run(
        self,
        wd: Json,
        workflow_input: Json,
        correlation_id: Optional[str],
        task_to_domain: Any,
        priority: Any,
        parent: Optional[Json] = None,
    ) -> WorkflowRun:
        raise NotImplementedError

    def _find_workflow_def(self, name: str, version: Optional[int]) -> Json:
        raise NotImplementedError

    def _workflow_output(self, run: WorkflowRun) -> Json:
        raise NotImplementedError

    # ------------------------------------------------------------------ the pass
    def _decide(self, run: WorkflowRun) -> None:
        doc = run.doc
        if doc["status"] != "RUNNING":
            return
        now = self.clock.now_ms()
        doc["updateTime"] = now
        tasks = doc["tasks"]
        for _ in range(MAX_PASSES):
            progressed = False
            i = 0
            while i < len(tasks):  # tasks scheduled during the pass are looked at in the same pass
                task = tasks[i]
                i += 1
                if doc["status"] != "RUNNING":
                    return
                status = task["status"]
                if status == "IN_PROGRESS":
                    kind = task["taskType"]
                    if (kind == "JOIN" and self._check_join(run, task, now)) or (
                        kind == "DO_WHILE" and task["taskId"] not in run.done and self._check_loop(run, task, now)
                    ):
                        progressed = True
                    continue
                if status not in TERMINAL_TASK or task["taskId"] in run.done:
                    continue
                run.done.add(task["taskId"])
                progressed = True
                if status in OK_TASK:
                    self._after(run, task, now)
                elif status != "CANCELED":
                    self._failed(run, task, now)
            if not progressed:
                break
        if doc["status"] == "RUNNING" and all(t["status"] in TERMINAL_TASK for t in tasks):
            self._finish(run, "COMPLETED", None, now)

    def _after(self, run: WorkflowRun, task: Json, now: int) -> None:
        """Schedule what follows a finished task."""
        wt = task["workflowTask"]
        base = wt["taskReferenceName"]
        kind = wt["type"]
        if kind in ("SWITCH", "DECISION") and task["status"] == "COMPLETED":
            branch = _chosen_branch(wt, task)
            if branch:
                self._schedule(run, branch[0], now)
                return
        elif kind == "FORK_JOIN" and task["status"] == "COMPLETED":
            for branch in wt.get("forkTasks") or []:
                if branch:
                    self._schedule(run, branch[0], now)
        elif kind == "FORK_JOIN_DYNAMIC" and task["status"] == "COMPLETED":
            forked = run.forked.pop(task["taskId"], [])
            for dynamic_wt, inputs in forked:
                self._schedule(run, dynamic_wt, now, inputs=inputs)
            nxt = run.graph.next_after(base)
            if nxt.task is not None and nxt.task.get("type") == "JOIN":
                join = self._schedule(run, nxt.task, now)
                join["inputData"]["joinOn"] = [w["taskReferenceName"] for w, _ in forked]
                return
            self._follow(run, nxt, now)
            return
        elif kind == "TERMINATE":
            return
        self._follow(run, run.graph.next_after(base), now)

    def _follow(self, run: WorkflowRun, nxt: Next, now: int) -> None:
        if nxt.task is not None:
            self._schedule(run, nxt.task, now)
        elif nxt.end == END_OF_LOOP and nxt.owner is not None:
            loop = run.latest.get(nxt.owner)
            if loop is not None and loop["status"] == "IN_PROGRESS":
                self._end_iteration(run, loop, now)
        # END_OF_BRANCH: the fork's JOIN decides; END_OF_WORKFLOW: the pass completes the workflow.

    def _failed(self, run: WorkflowRun, task: Json, now: int) -> None:
        status = task["status"]
        td = task.get("taskDefinition")
        if td and status in ("FAILED", "TIMED_OUT") and task["retryCount"] < td["retryCount"]:
            if task["workflowTask"]["type"] in st.WORKER_TYPES:
                self._retry(run, task, td, now)
            else:
                self._retry_system_task(run, task, now)
            return
        if task["workflowTask"].get("optional"):
            task["status"] = "COMPLETED_WITH_ERRORS"
            self._after(run, task, now)
            return
        doc = run.doc
        final = "TIMED_OUT" if status == "TIMED_OUT" else "FAILED"
        if task["referenceTaskName"] not in doc["failedReferenceTaskNames"]:
            doc["failedReferenceTaskNames"].append(task["referenceTaskName"])
            doc["failedTaskNames"].append(task["taskDefName"])
        reason = task.get("reasonForIncompletion")
        output = self._workflow_output(run)  # before the JOIN below gets its outputs, as OSS computes it
        self._fail_join(run, task, reason, now)
        message = (
            f"Task {task['taskId']} failed with status: {final} and reason: "
            f"'{reason if reason is not None else 'null'}'"
        )
        self._finish(run, final, message, now, output=output)

    def _retry_system_task(self, run: WorkflowRun, task: Json, now: int) -> None:
        """As both real servers do for a system task (e.g. HTTP) whose name has a task definition with retries:
        a new task, its input resolved again. The retry runs at once (``retryDelaySeconds`` is not applied)."""
        task["retried"] = True
        retry = self._schedule(run, task["workflowTask"], now)
        retry["retryCount"] = task["retryCount"] + 1
        retry["retriedTaskId"] = task["taskId"]

    def _fail_join(self, run: WorkflowRun, task: Json, reason: Optional[str], now: int) -> None:
        """OSS fails the JOIN waiting on a failed branch (with what its branches produced); 3.15 cancels it."""
        for join in run.doc["tasks"]:
            if join["taskType"] != "JOIN" or join["status"] != "IN_PROGRESS":
                continue
            join_on = join["inputData"].get("joinOn") or []
            if task["referenceTaskName"] not in join_on and not self._in_branches_of(run, task, join):
                continue
            join["status"] = "FAILED"
            join["endTime"] = now
            join["updateTime"] = now
            if reason is not None:
                join["reasonForIncompletion"] = reason
            join["outputData"] = {
                ref: run.latest[ref]["outputData"]
                for ref in join_on
                if ref in run.latest and run.latest[ref]["status"] in TERMINAL_TASK
            }
            run.done.add(join["taskId"])

    @staticmethod
    def _in_branches_of(run: WorkflowRun, task: Json, join: Json) -> bool:
        node = run.graph.nodes.get(task["workflowTask"]["taskReferenceName"])
        join_ref = join["workflowTask"]["taskReferenceName"]
        while node is not None and node.owner is not None:
            if node.owner_kind == "fork":
                return run.graph.next_after(node.owner).task is run.graph.nodes[join_ref].task
            node = run.graph.nodes.get(node.owner)
        return False

    # ------------------------------------------------------------------ scheduling
    def _schedule(self, run: WorkflowRun, wt: Json, now: int, inputs: Optional[Json] = None) -> Json:
        """Create the task for workflow task ``wt``; system tasks that compute run at once."""
        doc = run.doc
        base = wt["taskReferenceName"]
        loop_ref = run.graph.loop_of(base)
        iteration = 0
        ref = base
        if loop_ref is not None:
            loop = run.latest.get(loop_ref)
            iteration = loop["iteration"] if loop is not None else 1
            ref = f"{base}__{iteration}"
        kind = wt["type"]
        resolver = Resolver(run.lookup)
        data = resolver.resolve(wt.get("inputParameters") or {}) if inputs is None else inputs
        task_type = kind
        td: Optional[Json] = None
        if kind in st.WORKER_TYPES:
            task_type = wt["name"]
            if kind == "DYNAMIC":
                task_type = str(data.get(wt.get("dynamicTaskNameParam") or "taskToExecute") or "")
            td = wt.get("taskDefinition") if kind != "DYNAMIC" else None
            if td is None:
                td = self._task_defs.get(task_type) or task_def_defaults(task_type)
        elif kind in ("FORK_JOIN", "FORK_JOIN_DYNAMIC"):
            task_type = "FORK"  # both real servers list either fork as "FORK"
        system_td = None if kind in st.WORKER_TYPES else self._task_defs.get(wt["name"])
        task: Json = {
            "taskType": task_type,
            "status": "SCHEDULED",
            "inputData": data,
            "referenceTaskName": ref,
            "retryCount": 0,
            "seq": len(doc["tasks"]) + 1,
            "pollCount": 0,
            "taskDefName": task_type if kind in st.WORKER_TYPES else wt["name"],
            "scheduledTime": now,
            "startTime": 0,
            "endTime": 0,
            "updateTime": 0,
            "startDelayInSeconds": 0,
            "retried": False,
            "executed": False,
            "callbackFromWorker": True,
            "responseTimeoutSeconds": td["responseTimeoutSeconds"] if td else 0,
            "workflowInstanceId": doc["workflowId"],
            "workflowType": doc["workflowName"],
            "taskId": str(uuid.uuid4()),
            "callbackAfterSeconds": 0,
            "outputData": {},
            "workflowTask": wt,
            "rateLimitPerFrequency": td.get("rateLimitPerFrequency", 0) if td else 0,
            "rateLimitFrequencyInSeconds": td.get("rateLimitFrequencyInSeconds", 1) if td else 0,
            "workflowPriority": doc["priority"],
            "iteration": iteration,
            "subworkflowChanged": False,
            "queueWaitTime": 0,
            "loopOverTask": loop_ref is not None or kind == "DO_WHILE",
        }
        if td is not None:
            task["taskDefinition"] = td
        elif system_td is not None:  # a system task whose name has a task definition retries by it
            task["taskDefinition"] = system_td
        if "correlationId" in doc:
            task["correlationId"] = doc["correlationId"]
        doc["tasks"].append(task)
        run.latest[ref] = task
        run.latest[base] = task
        self._tasks[task["taskId"]] = task
        if kind in st.WORKER_TYPES:
            to_domain = doc["taskToDomain"]
            domain = self._active_domain(task_type, to_domain.get(task_type) or to_domain.get("*"))
            if domain:
                task["domain"] = domain
            if not task_type:
                self._end(
                    task,
                    "FAILED",
                    now,
                    reason=f"Cannot map a dynamic task based on the parameter and input "
                    f"parameter: {wt.get('dynamicTaskNameParam')}",
                )
                return task
            delay = wt.get("startDelay") or 0
            task["startDelayInSeconds"] = delay
            task["callbackAfterSeconds"] = delay
            self._queue(self._queue_name(task)).push(task["taskId"], delay)
            return task
        task["startTime"] = now
        task["updateTime"] = now
        if kind in st.SYNC_TYPES:
            self._run_sync(run, wt, task, now)
        else:
            task["status"] = "IN_PROGRESS"
            self._start_async(run, wt, task, now)
        return task

    def _end(
        self, task: Json, status: str, now: int, output: Optional[Json] = None, reason: Optional[str] = None
    ) -> None:
        task["status"] = status
        task["endTime"] = now
        task["updateTime"] = now
        if output is not None:
            task["outputData"] = output
        if reason is not None:
            task["reasonForIncompletion"] = reason[:500]

    def _run_sync(self, run: WorkflowRun, wt: Json, task: Json, now: int) -> None:
        kind = wt["type"]
        data = task["inputData"]
        try:
            if kind in ("SWITCH", "DECISION"):
                _, _, task["inputData"], output = st.switch(wt, data)
                self._end(task, "COMPLETED", now, output)
            elif kind == "FORK_JOIN":
                task["inputData"] = {}
                self._end(task, "COMPLETED", now, {})
            elif kind == "FORK_JOIN_DYNAMIC":
                self._fork_dynamic(run, wt, task, now)
            elif kind == "SET_VARIABLE":
                run.doc["variables"].update(data)
                self._end(task, "COMPLETED", now, {})
            elif kind == "START_WORKFLOW":
                self._start_workflow_task(run, task, now)
            elif kind == "TERMINATE":
                status, reason, output = st.terminate(data)
                self._end(task, "COMPLETED", now, output)
                run.done.add(task["taskId"])
                self._finish(run, status, reason, now, output=output)
            else:
                outcome = st.inline(data) if kind == "INLINE" else st.jq_transform(data)
                self._end(task, outcome.status, now, outcome.output, outcome.reason)
        except ScriptError as exc:
            self._end(task, "FAILED", now, reason=str(exc))
        except MissingExtra as exc:
            self._end(task, "FAILED_WITH_TERMINAL_ERROR", now, reason=str(exc))

    def _fork_dynamic(self, run: WorkflowRun, wt: Json, task: Json, now: int) -> None:
        data = task["inputData"]
        tasks = data.get(wt.get("dynamicForkTasksParam") or "dynamicTasks")
        inputs = data.get(wt.get("dynamicForkTasksInputParamName") or "dynamicTasksInput") or {}
        if not isinstance(tasks, list) or not isinstance(inputs, dict):
            self._end(
                task,
                "FAILED",
                now,
                reason="Input to the dynamically forked tasks is not a map -> expecting a map of K,V  but found null",
            )
            return
        forked = []
        for raw in tasks:
            if not isinstance(raw, dict) or not raw.get("taskReferenceName"):
                continue
            dyn = {"inputParameters": {}, "type": "SIMPLE", "optional": False, "startDelay": 0, **raw}
            dyn.setdefault("name", dyn["taskReferenceName"])
            ref = dyn["taskReferenceName"]
            given = inputs.get(ref)
            forked.append((dyn, dict(given) if isinstance(given, dict) else {}))
        run.forked[task["taskId"]] = forked
        task["inputData"] = {
            **data,
            "forkedTaskDefs": [w for w, _ in forked],
            "forkedTasks": [w["taskReferenceName"] for w, _ in forked],
        }
        self._end(task, "COMPLETED", now, {})

    def _start_async(self, run: WorkflowRun, wt: Json, task: Json, now: int) -> None:
        kind = wt["type"]
        if kind == "JOIN":
            task["inputData"] = {"joinOn": list(wt.get("joinOn") or [])}
        elif kind == "DO_WHILE":
            task["iteration"] = 1
            task["outputData"] = {"iteration": 1}
            body = wt.get("loopOver") or []
            if body:
                self._schedule(run, body[0], now)
        elif kind == "WAIT":
            seconds, error = st.wait_seconds(task["inputData"], now)
            if error is not None:
                self._end(task, "FAILED_WITH_TERMINAL_ERROR", now, reason=error)
            elif seconds is not None:
                task["callbackAfterSeconds"] = int(seconds)
                heapq.heappush(self._timers, (self.clock.monotonic() + seconds, task["taskId"]))
        elif kind == "SUB_WORKFLOW":
            self._start_child(run, wt, task, now)
        elif kind == "HTTP":
            task["inputData"] = {"asyncComplete": bool(wt.get("asyncComplete")), **task["inputData"]}
            threading.Thread(
                target=self._call_http,
                args=(task["taskId"], task["inputData"]),
                name="swift-conductor-devserver-http-task",
                daemon=True,
            ).start()
        # HUMAN (and WAIT without a time): IN_PROGRESS until the task update API completes it.

    # ------------------------------------------------------------------ JOIN and DO_WHILE
    def _check_join(self, run: WorkflowRun, join: Json, now: int) -> bool:
        join_on = join["inputData"].get("joinOn") or []
        iteration = join["iteration"]
        output: Json = {}
        for ref in join_on:
            # Inside a loop, wait for this iteration's task, not a finished one of an earlier iteration.
            task = run.latest.get(f"{ref}__{iteration}" if iteration else ref)
            if task is None or task["status"] not in OK_TASK:
                return False
            output[task["referenceTaskName"]] = task["outputData"]  # "ref__2" inside a loop, as the real servers
        self._end(join, "COMPLETED", now, output)
        return True

    def _check_loop(self, run: WorkflowRun, loop: Json, now: int) -> bool:
        """A loop with an empty body goes straight to its condition."""
        if loop["workflowTask"].get("loopOver"):
            return False
        self._end_iteration(run, loop, now)
        return loop["status"] != "IN_PROGRESS"

    def _end_iteration(self, run: WorkflowRun, loop: Json, now: int) -> None:
        wt = loop["workflowTask"]
        base = wt["taskReferenceName"]
        iteration = loop["iteration"]
        produced: Json = {}
        for ref in run.graph.loop_body_refs(base):
            task = run.latest.get(ref)
            if task is not None and task["iteration"] == iteration:
                produced[ref] = task["outputData"]
        output = loop["outputData"]
        output[str(iteration)] = produced
        bindings = dict(loop["inputData"])
        bindings[base] = output
        bindings.update(produced)
        try:
            again = st.loop_again(wt.get("loopCondition") or "false", bindings)
        except (ScriptError, MissingExtra) as exc:
            self._end(loop, "FAILED", now, reason=str(exc))
            return
        loop["updateTime"] = now
        if not again:
            self._end(loop, "COMPLETED", now)
            return
        loop["iteration"] = iteration + 1
        output["iteration"] = iteration + 1
        body = wt.get("loopOver") or []
        if body:
            self._schedule(run, body[0], now)

    # ------------------------------------------------------------------ HTTP and START_WORKFLOW
    def _call_http(self, task_id: str, inputs: Json) -> None:
        """Runs in its own thread: the request is made without the engine lock, the result applied with it."""
        try:
            status, output, reason = perform_http(inputs)
        except Exception as exc:  # never lose the task: a bug here still ends it, with the cause
            logger.exception("HTTP task %s failed unexpectedly", task_id)
            status, output, reason = "FAILED", {}, f"Failed to invoke HTTP task due to: {exc}"
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task["status"] != "IN_PROGRESS":
                return
            self._end(task, status, self.clock.now_ms(), output, reason)
            run = self._workflows.get(task["workflowInstanceId"])
            if run is not None:
                self._decide(run)

    def _start_workflow_task(self, run: WorkflowRun, task: Json, now: int) -> None:
        """START_WORKFLOW: start another workflow, not waiting for it; its id is the output."""
        request = task["inputData"].get("startWorkflow")
        if not isinstance(request, dict) or not request.get("name"):
            self._end(task, "FAILED", now, reason="Missing startWorkflow.name in the START_WORKFLOW task's input")
            return
        version = request.get("version")
        try:
            wd = self._find_workflow_def(str(request["name"]), version if isinstance(version, int) else None)
        except ApiError as exc:
            self._end(task, "FAILED", now, reason=exc.message)
            return
        given = request.get("input")
        started = self._create_run(
            wd,
            dict(given) if isinstance(given, dict) else {},
            request.get("correlationId") if isinstance(request.get("correlationId"), str) else None,
            request.get("taskToDomain"),
            request.get("priority"),
        )
        self._end(task, "COMPLETED", now, {"workflowId": started.doc["workflowId"]})

    # ------------------------------------------------------------------ sub-workflows and timers
    def _start_child(self, run: WorkflowRun, wt: Json, task: Json, now: int) -> None:
        param = wt.get("subWorkflowParam") or {}
        inline = param.get("workflowDefinition")
        name = param.get("name")
        version = param.get("version")
        task["inputData"] = {
            "subWorkflowDefinition": inline if isinstance(inline, dict) else None,
            "workflowInput": task["inputData"],
            "subWorkflowTaskToDomain": param.get("taskToDomain"),
            "idempotencyKey": None,
            "subWorkflowName": name if isinstance(name, str) else (inline or {}).get("name"),
            "priority": None,
            "subWorkflowVersion": version,
            "idempotencyStrategy": None,
        }
        try:
            if isinstance(inline, dict):
                from .metadata import normalize_workflow_def

                problems: List[Json] = []
                child_def = normalize_workflow_def(inline, "subWorkflowParam.workflowDefinition", problems)
                if problems:
                    raise ValueError(problems[0]["message"])
            else:
                child_def = self._find_workflow_def(str(name), version if isinstance(version, int) else None)
                task["inputData"]["subWorkflowVersion"] = child_def["version"]
        except Exception as exc:  # an unknown name or a bad inline definition fails the task, not the request
            message = getattr(exc, "message", None) or str(exc)
            self._end(task, "FAILED", now, reason=message)
            return
        parent = {"workflowId": run.doc["workflowId"], "taskId": task["taskId"]}
        to_domain = param.get("taskToDomain") or run.doc["taskToDomain"]
        child = self._create_run(
            child_def,
            dict(task["inputData"]["workflowInput"]),
            run.doc.get("correlationId"),
            to_domain,
            run.doc["priority"],
            parent,
        )
        child_id = child.doc["workflowId"]
        task["subWorkflowId"] = child_id
        if child.doc["status"] == "RUNNING":
            task["outputData"] = {"subWorkflowId": child_id}
        else:
            self._child_finished(child)

    def _child_finished(self, child: WorkflowRun) -> None:
        """A sub-workflow ended: its SUB_WORKFLOW task ends the same way and the parent decides."""
        doc = child.doc
        task = self._tasks.get(doc.get("parentWorkflowTaskId") or "")
        parent = self._workflows.get(doc.get("parentWorkflowId") or "")
        if task is None or parent is None or task["status"] != "IN_PROGRESS":
            return
        now = self.clock.now_ms()
        output = {"subWorkflowId": doc["workflowId"], **doc["output"]}
        if doc["status"] == "COMPLETED":
            self._end(task, "COMPLETED", now, output)
        else:
            reason = (
                f"Sub workflow {doc['workflowName']}.{doc['workflowVersion']}/{doc['workflowId']} "
                f"failure reason: {doc.get('reasonForIncompletion')}"
            )
            self._end(task, "FAILED", now, output, reason)
        self._decide(parent)

    def _watch_workflow_timeout(self, run: WorkflowRun) -> None:
        """Workflow ``timeoutSeconds`` (policy TIME_OUT_WF): a timer on the engine clock, so tests can advance it."""
        definition = run.definition
        seconds = definition.get("timeoutSeconds") or 0
        if seconds > 0 and definition.get("timeoutPolicy", "ALERT_ONLY") == "TIME_OUT_WF":
            heapq.heappush(self._timers, (self.clock.monotonic() + seconds, WORKFLOW_TIMER + run.doc["workflowId"]))

    def _time_out_workflow(self, run: WorkflowRun) -> None:
        if run.doc["status"] != "RUNNING":
            return
        now = self.clock.now_ms()
        seconds = run.definition.get("timeoutSeconds") or 0
        elapsed = (now - run.doc["startTime"]) // 1000
        reason = (
            f"Workflow timed out after {elapsed} seconds. Timeout configured as {seconds} seconds. "
            "Timeout policy configured to TIME_OUT_WF"
        )
        self._finish(run, "TIMED_OUT", reason, now)

    def _fire_timers(self) -> None:
        """Finish WAIT tasks and time out workflows whose time has come (on the engine clock)."""
        timers = self._timers
        now = self.clock.monotonic()
        while timers and timers[0][0] <= now:
            _, task_id = heapq.heappop(timers)
            if task_id.startswith(WORKFLOW_TIMER):
                run = self._workflows.get(task_id[len(WORKFLOW_TIMER) :])
                if run is not None:
                    self._time_out_workflow(run)
                continue
            task = self._tasks.get(task_id)
            if task is None or task["status"] != "IN_PROGRESS":
                continue
            self._end(task, "COMPLETED", self.clock.now_ms())
            run = self._workflows.get(task["workflowInstanceId"])
            if run is not None:
                self._decide(run)


def _chosen_branch(wt: Json, task: Json) -> List[Json]:
    case = task["inputData"].get("case")
    branch = (wt.get("decisionCases") or {}).get(case)
    if branch is None:
        branch = wt.get("defaultCase") or []
    return list(branch)
