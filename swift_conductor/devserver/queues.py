"""Per-queue storage of task ids: ready ones in FIFO order, postponed ones in a heap, one Condition each.

All methods must be called with the engine lock held (the Condition shares it), so a long poll can wait
on exactly its own queue and wake as soon as a task is pushed there.
"""

from __future__ import annotations

import heapq
import threading
from typing import Dict, List, Optional, Tuple

from .clock import Clock


class TaskQueue:
    """One queue (``taskType`` or ``domain:taskType``)."""

    __slots__ = ("clock", "cond", "delayed", "heap", "name", "ready", "waiters")

    def __init__(self, name: str, lock: threading.Lock, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self.ready: Dict[str, None] = {}  # insertion-ordered set: O(1) push, pop-first and remove
        self.delayed: Dict[str, float] = {}  # task id -> due time on the engine clock's monotonic scale
        self.heap: List[Tuple[float, str]] = []  # may hold stale entries; ``delayed`` is the truth
        self.cond = threading.Condition(lock)
        self.waiters = 0

    def __len__(self) -> int:
        return len(self.ready) + len(self.delayed)

    def push(self, task_id: str, delay_seconds: float = 0.0) -> None:
        self.remove(task_id)
        if delay_seconds <= 0:
            self.ready[task_id] = None
            if self.waiters:
                self.cond.notify()
        else:
            due = self.clock.monotonic() + delay_seconds
            self.delayed[task_id] = due
            heapq.heappush(self.heap, (due, task_id))
            if self.waiters:
                # A waiter may be sleeping past this new due time; let them recompute.
                self.cond.notify_all()

    def remove(self, task_id: str) -> None:
        self.ready.pop(task_id, None)
        self.delayed.pop(task_id, None)

    def promote(self, now: float) -> None:
        """Move postponed tasks whose time has come to the ready set."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            due, task_id = heapq.heappop(heap)
            if self.delayed.get(task_id) == due:
                del self.delayed[task_id]
                self.ready[task_id] = None

    def next_due(self) -> Optional[float]:
        heap = self.heap
        while heap and self.delayed.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop(self) -> str:
        task_id = next(iter(self.ready))
        del self.ready[task_id]
        return task_id
