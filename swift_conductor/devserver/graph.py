"""The task graph of a workflow definition: where each task sits, and what comes after it.

A definition is a tree: the top-level list, SWITCH/DECISION branches, FORK_JOIN branches and DO_WHILE bodies
each hold a list of tasks. The decider only needs two questions answered, as the real server's
``getNextTask`` answers them: "what follows this task?" and "which loop is this task in?".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

Json = Dict[str, Any]

#: What the decider does after the last task of a list.
END_OF_WORKFLOW = "workflow"
END_OF_BRANCH = "fork"  # a fork branch ends; its JOIN decides
END_OF_LOOP = "loop"  # a loop body ends; its DO_WHILE decides


@dataclass
class Node:
    """One workflow task in its list: the owner is the SWITCH/FORK/DO_WHILE holding the list (None at top)."""

    task: Json
    siblings: List[Json]
    index: int
    owner: Optional[str]
    owner_kind: Optional[str]  # "switch" | "fork" | "loop" | None


@dataclass
class Next:
    """The answer to "what follows": a task to schedule, or the end of a list and whose it is."""

    task: Optional[Json] = None
    end: str = END_OF_WORKFLOW
    owner: Optional[str] = None  # the FORK or DO_WHILE whose list ended


def children(wt: Json) -> Iterator[tuple[str, List[Json]]]:
    """The task lists a workflow task holds, with the kind of holder."""
    kind = wt.get("type")
    if kind in ("SWITCH", "DECISION"):
        for branch in (wt.get("decisionCases") or {}).values():
            if isinstance(branch, list):
                yield "switch", branch
        default = wt.get("defaultCase")
        if isinstance(default, list):
            yield "switch", default
    elif kind == "FORK_JOIN":
        for branch in wt.get("forkTasks") or []:
            if isinstance(branch, list):
                yield "fork", branch
    elif kind == "DO_WHILE":
        body = wt.get("loopOver")
        if isinstance(body, list):
            yield "loop", body


def walk(tasks: List[Json]) -> Iterator[Json]:
    """Every workflow task of a definition, depth first."""
    for wt in tasks:
        if not isinstance(wt, dict):
            continue
        yield wt
        for _, branch in children(wt):
            yield from walk(branch)


class Graph:
    """Index of one definition by task reference name."""

    __slots__ = ("nodes", "top")

    def __init__(self, tasks: List[Json]) -> None:
        self.top = tasks
        self.nodes: Dict[str, Node] = {}
        self._index(tasks, None, None)

    def _index(self, tasks: List[Json], owner: Optional[str], kind: Optional[str]) -> None:
        for i, wt in enumerate(tasks):
            ref = wt["taskReferenceName"]
            self.nodes[ref] = Node(wt, tasks, i, owner, kind)
            for child_kind, branch in children(wt):
                self._index(branch, ref, child_kind)

    def next_after(self, ref: str) -> Next:
        """What follows ``ref`` once it is done (a SWITCH's chosen branch is handled by the caller)."""
        node = self.nodes.get(ref)
        while node is not None:
            if node.index + 1 < len(node.siblings):
                return Next(task=node.siblings[node.index + 1])
            if node.owner_kind == "fork":
                return Next(end=END_OF_BRANCH, owner=node.owner)
            if node.owner_kind == "loop":
                return Next(end=END_OF_LOOP, owner=node.owner)
            if node.owner is None:
                break
            node = self.nodes.get(node.owner)  # the end of a switch branch: what follows the switch
        return Next()

    def loop_of(self, ref: str) -> Optional[str]:
        """The innermost DO_WHILE holding ``ref`` (directly or through switches and forks)."""
        node = self.nodes.get(ref)
        while node is not None and node.owner is not None:
            if node.owner_kind == "loop":
                return node.owner
            node = self.nodes.get(node.owner)
        return None

    def loop_body_refs(self, loop_ref: str) -> List[str]:
        """Every reference name inside a DO_WHILE's body (nested lists included)."""
        node = self.nodes[loop_ref]
        return [wt["taskReferenceName"] for wt in walk(node.task.get("loopOver") or [])]
