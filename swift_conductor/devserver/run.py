"""One workflow run as the engine keeps it: the wire document plus the indexes the decider needs, and the
read-only views ``${workflow.x}`` and ``${ref.x}`` expressions resolve against."""

from __future__ import annotations

from typing import Any, Dict, List, Set, Tuple

from .graph import Graph

Json = Dict[str, Any]


class WorkflowRun:
    """A running or finished workflow: its wire document plus the indexes the decider needs."""

    __slots__ = ("definition", "doc", "done", "forked", "graph", "latest")

    def __init__(self, doc: Json, definition: Json, graph: Graph) -> None:
        self.doc = doc
        self.definition = definition
        self.graph = graph
        self.latest: Dict[str, Json] = {}  # reference name (also the base name inside loops) -> newest task
        self.done: Set[str] = set()  # ids of finished tasks the decider has acted on
        self.forked: Dict[str, List[Tuple[Json, Json]]] = {}  # FORK_JOIN_DYNAMIC task id -> (task, input) pairs

    def lookup(self, root: str) -> Any:
        """Roots for ``${...}``: ``workflow`` or a task reference name."""
        if root == "workflow":
            return _WorkflowView(self.doc)
        task = self.latest.get(root)
        return None if task is None else _TaskView(task)


class _WorkflowView(Dict[str, Any]):
    """``${workflow.x}`` names, computed on access so no context document is built per resolution."""

    _FIELDS = {
        "input": "input",
        "output": "output",
        "status": "status",
        "workflowId": "workflowId",
        "workflowType": "workflowName",
        "version": "workflowVersion",
        "correlationId": "correlationId",
        "reasonForIncompletion": "reasonForIncompletion",
        "variables": "variables",
        "taskToDomain": "taskToDomain",
        "priority": "priority",
        "createTime": "createTime",
        "startTime": "startTime",
        "updateTime": "updateTime",
        "endTime": "endTime",
        "parentWorkflowId": "parentWorkflowId",
        "parentWorkflowTaskId": "parentWorkflowTaskId",
    }

    def __init__(self, doc: Json) -> None:
        super().__init__()
        self._doc = doc

    def get(self, key: Any, default: Any = None) -> Any:
        # A fixed set of names: exposing "tasks" would let a task's input contain itself (a JSON cycle).
        if key == "schemaVersion":
            return 2
        field = self._FIELDS.get(key)
        return default if field is None else self._doc.get(field, default)


class _TaskView(Dict[str, Any]):
    """``${ref.x}``: ``input``/``output`` map to inputData/outputData, other names to the task's fields."""

    _ALIASES = {"input": "inputData", "output": "outputData"}

    def __init__(self, task: Json) -> None:
        super().__init__()
        self._task = task

    def get(self, key: Any, default: Any = None) -> Any:
        return self._task.get(self._ALIASES.get(key, key), default)
