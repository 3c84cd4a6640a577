"""Run a workflow to its end in one call, and say plainly why when it does not complete.

Choices (docs/testing.md names them too):

- A ``WorkflowDef`` is upserted (same name and version: replaced). Task definitions it needs that the server lacks
  are registered first with ``retryCount=0``: a failing task fails the workflow at once instead of being retried
  for minutes (the server's default is 3 retries, 60 s apart). Existing task definitions are left alone, so a
  test that registers its own (say, with retries) gets them.
- FAILED and TIMED_OUT raise ``AssertionError`` naming the failing task, its reason and its logs (a worker's
  traceback is there). TERMINATED is returned: something asked for it.
- A workflow still running at ``timeout`` raises ``AssertionError`` listing its tasks and their statuses, and is
  terminated so it does not hold on to workers or the server.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator, List, Mapping, Optional, Union

from ..configuration import Configuration
from ..errors import ConductorConnectionError, NotFoundError
from ..http.models import StartWorkflowRequest, Task, TaskDef, Workflow, WorkflowDef
from .runner import WorkerErrors
from .server import Conductor, ServerUnavailable

#: Seconds between two looks at a running workflow.
POLL_INTERVAL_S = 0.02
FAILED_TASK_STATUSES = ("FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED")
WORKER_TASK_TYPES = ("SIMPLE", "CUSTOM", None)
#: Most characters of task logs quoted in a failure message.
MAX_LOG_CHARS = 8000


def run_workflow(
    definition_or_name: Union[WorkflowDef, str],
    input: Optional[Mapping[str, Any]] = None,
    timeout: float = 30.0,
    *,
    configuration: Optional[Configuration] = None,
    version: Optional[int] = None,
    correlation_id: Optional[str] = None,
    task_to_domain: Optional[Mapping[str, str]] = None,
    raise_on_failure: bool = True,
    worker_errors: Optional[WorkerErrors] = None,
) -> Workflow:
    """Register (a ``WorkflowDef``), start, wait until terminal, and return the workflow with its tasks.

    With ``raise_on_failure=False`` a FAILED or TIMED_OUT workflow is returned instead of raising (a timeout of
    ``timeout`` seconds still raises). ``worker_errors`` (the plugin passes the test's) stops the wait as soon
    as a worker of this workflow raised, with that worker's traceback.
    """
    _check_timeout(timeout)
    run = start_workflow(
        definition_or_name,
        input,
        configuration=configuration,
        version=version,
        correlation_id=correlation_id,
        task_to_domain=task_to_domain,
        worker_errors=worker_errors,
    )
    return run.wait(timeout, raise_on_failure=raise_on_failure)


def start_workflow(
    definition_or_name: Union[WorkflowDef, str],
    input: Optional[Mapping[str, Any]] = None,
    *,
    configuration: Optional[Configuration] = None,
    version: Optional[int] = None,
    correlation_id: Optional[str] = None,
    task_to_domain: Optional[Mapping[str, str]] = None,
    worker_errors: Optional[WorkerErrors] = None,
) -> WorkflowRun:
    """Register (a ``WorkflowDef``) and start; return a :class:`WorkflowRun` to watch it and wait for it.

    For tests that act while the workflow runs: move the server clock, send a signal, look at a task.
    """
    if input is not None and not isinstance(input, Mapping):
        raise TypeError(f"run_workflow: input must be a dict, got {type(input).__name__}")
    if isinstance(definition_or_name, WorkflowDef):
        if not definition_or_name.name:
            raise ValueError("run_workflow: the WorkflowDef has no name")
        name = definition_or_name.name
        version = definition_or_name.version if version is None else version
    elif isinstance(definition_or_name, str) and definition_or_name:
        name = definition_or_name
    else:
        raise TypeError(f"run_workflow: give a WorkflowDef or a workflow name, got {definition_or_name!r}")
    conductor = Conductor.connect(configuration or Configuration())
    with _reachable(conductor):
        if isinstance(definition_or_name, WorkflowDef):
            register(conductor, definition_or_name)
        request = StartWorkflowRequest(
            name=name,
            version=version,
            correlation_id=correlation_id,
            input=dict(input or {}),
            task_to_domain=dict(task_to_domain or {}),
        )
        workflow_id = conductor.workflows.start(request)
    return WorkflowRun(conductor, workflow_id, worker_errors)


class WorkflowRun:
    """A started workflow: :meth:`wait` for its end, :meth:`wait_until` a state on the way."""

    def __init__(self, conductor: Conductor, workflow_id: str, worker_errors: Optional[WorkerErrors] = None) -> None:
        self.conductor = conductor
        self.workflow_id = workflow_id
        self.worker_errors = worker_errors

    def workflow(self) -> Workflow:
        """The workflow as the server has it now, with its tasks."""
        with _reachable(self.conductor):
            return self.conductor.workflows.get_workflow(self.workflow_id)

    def wait(self, timeout: float = 30.0, *, raise_on_failure: bool = True) -> Workflow:
        """Wait until the workflow is terminal and return it; FAILED or TIMED_OUT raise AssertionError (unless
        ``raise_on_failure=False``), and so does a workflow still running after ``timeout`` seconds (it is then
        terminated)."""
        _check_timeout(timeout)
        with _reachable(self.conductor):
            workflow = self._watch(lambda w: w.is_terminal, float(timeout))
            if workflow is None:
                return self._give_up(float(timeout))
            if raise_on_failure and workflow.status in ("FAILED", "TIMED_OUT"):
                raise AssertionError(_failure_message(self.conductor, workflow))
            return workflow

    def wait_until(self, condition: Callable[[Workflow], Any], timeout: float = 10.0, what: str = "") -> Workflow:
        """Wait until ``condition(workflow)`` is true and return that workflow. AssertionError if the workflow
        ends first (or fails), or after ``timeout`` seconds; ``what`` names the condition in that message."""
        _check_timeout(timeout)
        what = what or getattr(condition, "__name__", "the condition")
        with _reachable(self.conductor):
            workflow = self._watch(lambda w: bool(condition(w)) or w.is_terminal, float(timeout))
            if workflow is None:
                workflow = self.conductor.workflows.get_workflow(self.workflow_id)
                raise AssertionError(
                    f"workflow {workflow.workflow_name!r} ({self.workflow_id}): no {what} after {timeout:g} s; "
                    f"where it stands ({workflow.status}):\n{_task_table(workflow)}"
                )
            if condition(workflow):
                return workflow
            detail = _failure_message(self.conductor, workflow) if workflow.status != "COMPLETED" else ""
            raise AssertionError(
                f"workflow {workflow.workflow_name!r} ({self.workflow_id}) ended {workflow.status} before {what}\n"
                + (detail or f"tasks:\n{_task_table(workflow)}")
            )

    def _watch(self, done: Callable[[Workflow], bool], timeout: float) -> Optional[Workflow]:
        """Poll until ``done``; None at the deadline. A worker error of this workflow raises at once."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_worker_error()
            workflow = self.conductor.workflows.get_workflow(self.workflow_id)
            if done(workflow):
                return workflow
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_INTERVAL_S)

    def _raise_worker_error(self) -> None:
        raised = self.worker_errors.unreported(self.workflow_id) if self.worker_errors is not None else []
        if not raised:
            return
        for error in raised:
            error.reported = True
        workflow = self.conductor.workflows.get_workflow(self.workflow_id)
        raise AssertionError(
            f"workflow {workflow.workflow_name!r} ({self.workflow_id}): {raised[0].describe()}\n"
            f"where the workflow stands ({workflow.status}):\n{_task_table(workflow)}\n"
            "(run_workers(..., raise_on_error=False) lets a test expect this)"
        )

    def _give_up(self, timeout: float) -> Workflow:
        workflow = self.conductor.workflows.get_workflow(self.workflow_id)
        try:
            self.conductor.workflows.terminate(self.workflow_id, f"run_workflow gave up after {timeout:g} s")
            terminated = "It was terminated."
        except Exception as exc:  # the message matters more than the clean-up
            terminated = f"Terminating it failed: {exc}"
        raise AssertionError(
            f"workflow {workflow.workflow_name!r} ({self.workflow_id}) still {workflow.status} after {timeout:g} s; "
            f"where it stands:\n{_task_table(workflow)}\n{terminated}"
        )

    def __repr__(self) -> str:
        return f"<WorkflowRun {self.workflow_id}>"


def _check_timeout(timeout: float) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"run_workflow: timeout must be seconds > 0, got {timeout!r}")


@contextlib.contextmanager
def _reachable(conductor: Conductor) -> Iterator[None]:
    """A server that cannot be reached is said so, in one line."""
    try:
        yield
    except ConductorConnectionError as exc:
        raise ServerUnavailable(f"cannot reach the Conductor server at {conductor.api_url}: {exc}") from None


def register(conductor: Conductor, definition: WorkflowDef) -> List[str]:
    """Upsert ``definition`` after registering the task definitions it needs and the server lacks (those
    get ``retryCount=0``). Returns the names of the task definitions registered."""
    missing = []
    for task_name in sorted(set(_worker_task_names(definition.to_dict()))):
        try:
            conductor.metadata.get_task_def(task_name)
        except NotFoundError:
            missing.append(task_name)
    if missing:
        conductor.metadata.register_task_defs(
            [TaskDef(name=n, retry_count=0, retry_delay_seconds=0, owner_email="tests@example.com") for n in missing]
        )
    conductor.metadata.upsert_workflow_defs([definition])
    return missing


def _worker_task_names(node: Any) -> Iterator[str]:
    """Task names of the worker tasks anywhere in a definition (nested in forks, switches and loops too)."""
    if isinstance(node, list):
        for item in node:
            yield from _worker_task_names(item)
    elif isinstance(node, dict):
        if "taskReferenceName" in node and node.get("type") in WORKER_TASK_TYPES and not node.get("taskDefinition"):
            if isinstance(node.get("name"), str):
                yield node["name"]
        for value in node.values():
            if isinstance(value, (list, dict)):
                yield from _worker_task_names(value)


def _task_table(workflow: Workflow) -> str:
    if not workflow.tasks:
        return "  (no tasks scheduled)"
    return "\n".join(f"  {_describe_task(t)}" for t in workflow.tasks)


def _describe_task(task: Task) -> str:
    kind = task.task_def_name or task.task_type
    text = f"{task.reference_task_name} ({kind}): {task.status}"
    if task.retry_count:
        text += f", retry {task.retry_count}"
    if task.reason_for_incompletion:
        text += f": {task.reason_for_incompletion}"
    if task.status == "SCHEDULED" and not task.poll_count:
        text += f" - never polled: is a worker serving task {kind!r}?"
    elif task.status == "SCHEDULED" and task.callback_after_seconds:
        text += f" - due again in {task.callback_after_seconds} s (callbackAfterSeconds)"
    return text


def _failure_message(conductor: Conductor, workflow: Workflow) -> str:
    lines = [
        f"workflow {workflow.workflow_name!r} ({workflow.workflow_id}) {workflow.status}: "
        f"{workflow.reason_for_incompletion or '(no reason given)'}"
    ]
    failed = [t for t in workflow.tasks if t.status in FAILED_TASK_STATUSES]
    if failed:
        task = failed[-1]
        lines.append(
            f"failing task: {task.reference_task_name} (task type {task.task_def_name or task.task_type}, "
            f"id {task.task_id}) {task.status}: {task.reason_for_incompletion or '(no reason given)'}"
        )
        lines.append(_logs(conductor, task))
    lines.append(f"tasks:\n{_task_table(workflow)}")
    return "\n".join(lines)


def _logs(conductor: Conductor, task: Task) -> str:
    if not task.task_id:
        return "task logs: (none)"
    try:
        logs = conductor.tasks.get_task_logs(task.task_id)
    except Exception as exc:  # a server without the logs endpoint still gets the rest of the message
        return f"task logs: (could not be read: {exc})"
    if not logs:
        return "task logs: (none)"
    text = "\n".join(str(entry.log) for entry in logs)
    if len(text) > MAX_LOG_CHARS:
        text = "..." + text[-MAX_LOG_CHARS:]
    return "task logs:\n" + "\n".join(f"  {line}" for line in text.splitlines())
