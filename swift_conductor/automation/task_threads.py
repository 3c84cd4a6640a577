"""The execution threads of one worker: a fixed set of threads taking tasks from one queue.

A hand-off is one ``SimpleQueue.put``: no Future, no Condition and no work item per task, which a
``ThreadPoolExecutor`` would build for every task although nobody waits on its result (the runner counts its
slots itself). The threads start with the first task and are daemons: a task still running when the grace
period of a stop is over is abandoned (it times out on the server) rather than holding the process open.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Generic, List, Optional, TypeVar

logger = logging.getLogger("swift_conductor.automation")

T = TypeVar("T")


class TaskThreads(Generic[T]):
    """``count`` threads, each calling ``run(item)`` for the items submitted, in order of submission."""

    def __init__(self, count: int, run: Callable[[T], None], name: str = "task") -> None:
        if count < 1:
            raise ValueError(f"TaskThreads needs at least one thread, got {count}")
        self.count = count
        self._run = run
        self._name = name
        self._queue: queue.SimpleQueue[Optional[T]] = queue.SimpleQueue()
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, item: T) -> bool:
        """Queue ``item`` for the next free thread; False (and nothing queued) after :meth:`shutdown`."""
        if not self._threads:
            self._start()
        with self._lock:  # never behind the end markers of a shutdown
            if self._closed:
                return False
            self._queue.put(item)
        return True

    def shutdown(self) -> None:
        """Take no more items; the threads end once the items queued before this call are done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            for i in range(self.count):
                thread = threading.Thread(target=self._loop, name=f"{self._name}-{i}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _loop(self) -> None:
        get = self._queue.get
        run = self._run
        while True:
            item = get()
            if item is None:
                return
            try:
                run(item)
            except BaseException:  # a bug in ``run`` must not cost a thread
                logger.exception("unexpected error in an execution thread")
