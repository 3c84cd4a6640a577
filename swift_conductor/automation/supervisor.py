"""Supervision: one process per worker, restarted with backoff when it dies, stopped gracefully on request."""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import Any, Callable, Dict, List, Optional

from ..worker.settings import WorkerSettings
from ..worker.worker_interface import WorkerAbc
from . import metrics
from .logs import ChildLogging, HostLogging
from .process import ABANDONED_BYTES, EXIT_ABANDONED, EXIT_STARTUP_FAILED, ProcessSpec, run_worker_process
from .spawn import SPAWN, WorkerProcess

logger = logging.getLogger("swift_conductor.automation")

RESTART_BACKOFF_MIN_S = 1.0
RESTART_BACKOFF_MAX_S = 60.0
HEALTHY_AFTER_S = 60.0  # a process that ran this long resets its restart backoff
CHECK_EVERY_S = 0.5


@dataclass
class Slot:
    """One worker and the process currently serving it."""

    worker: WorkerAbc
    settings: List[WorkerSettings]
    process: Optional[SpawnProcess] = None
    started_at: float = 0.0  # monotonic
    restarts: int = 0
    next_start: float = 0.0  # monotonic; 0 when no restart is pending
    backoff: float = RESTART_BACKOFF_MIN_S  # the wait before the next restart
    last_delay: float = 0.0  # the wait chosen when it last died
    reached: Any = None  # shared double: when its loop last reached the server (epoch s)
    beat: Any = None  # shared double: when its loop last turned (epoch s)
    abandoned: Any = None  # shared char array the process fills with abandoned task ids
    child_logging: Optional[ChildLogging] = None
    source: int = 0
    reaped: bool = True  # the current process's end was handled (logs read, metrics kept)
    last_exit: Optional[int] = None

    @property
    def task_names(self) -> List[str]:
        return [s.task_name for s in self.settings]

    @property
    def label(self) -> str:
        return "-".join(self.task_names)


@dataclass
class Supervisor:
    slots: List[Slot]
    spec: Callable[[Slot], ProcessSpec]  # what each new process is started with
    host_logging: HostLogging
    aggregate: Optional[metrics.Aggregate] = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    stopping: threading.Event = field(default_factory=threading.Event)
    _sources: int = 0
    _thread: Optional[threading.Thread] = None

    # -- starting ---------------------------------------------------------------------------------------------
    def start_all(self) -> None:
        with self.lock:
            for slot in self.slots:
                self._start(slot)
            self._thread = threading.Thread(target=self._watch, name="worker-host-monitor", daemon=True)
            self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def _start(self, slot: Slot) -> None:
        if slot.reached is None:
            slot.reached = SPAWN.Value("d", 0.0, lock=False)
            slot.beat = SPAWN.Value("d", 0.0, lock=False)
            slot.abandoned = SPAWN.Array("c", ABANDONED_BYTES, lock=False)
        slot.reached.value = 0.0
        slot.beat.value = 0.0
        slot.abandoned.value = b""
        self._sources += 1
        slot.source = self._sources
        on_samples = self.aggregate.update if self.aggregate is not None else None
        slot.child_logging = self.host_logging.for_process(slot.label, SPAWN, on_samples)
        process = WorkerProcess(target=run_worker_process, args=(self.spec(slot),), name=f"worker-{slot.label}")
        process.daemon = False
        process.start()
        slot.process = process
        slot.started_at = time.monotonic()
        slot.reaped = False
        logger.debug("started %s as pid %s", process.name, process.pid)

    # -- watching ---------------------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self.stopping.wait(CHECK_EVERY_S):
            now = time.monotonic()
            with self.lock:
                if self.stopping.is_set():
                    return
                for slot in self.slots:
                    self._check(slot, now)

    def _check(self, slot: Slot, now: float) -> None:
        process = slot.process
        if process is None or process.is_alive():
            return
        if slot.next_start == 0.0:
            ran = now - slot.started_at
            lost = self._reap(slot)
            if ran > HEALTHY_AFTER_S:
                slot.backoff = RESTART_BACKOFF_MIN_S
            code = process.exitcode
            if code == 0:
                logger.warning(
                    "worker process %s (pid %s) stopped on its own (a stop signal sent to it alone?); "
                    "starting a new one in %.0f s", process.name, process.pid, RESTART_BACKOFF_MIN_S,
                )  # fmt: skip
                slot.next_start = now + RESTART_BACKOFF_MIN_S
                return
            if code == EXIT_STARTUP_FAILED:
                why = "its on_startup hook failed"
            else:
                why = describe_exit(code)
            if lost:
                logger.error("worker process %s abandoned task(s): %s", process.name, ", ".join(lost))
            logger.error(
                "worker process %s (pid %s) died after %.1f s: %s; restarting in %.0f s",
                process.name, process.pid, ran, why, slot.backoff,
            )  # fmt: skip
            slot.next_start = now + slot.backoff
            slot.last_delay = slot.backoff
            slot.backoff = min(RESTART_BACKOFF_MAX_S, slot.backoff * 2)
        elif now >= slot.next_start:
            slot.next_start = 0.0
            slot.restarts += 1
            if self.aggregate is not None:
                self.aggregate.restarted(slot.task_names)
            self._start(slot)

    def _reap(self, slot: Slot) -> List[str]:
        """The process has ended: read the rest of its log, keep its counters; returns its abandoned tasks."""
        if slot.reaped:
            return []
        slot.reaped = True
        self.host_logging.finish(slot.child_logging)
        slot.child_logging = None
        if self.aggregate is not None:
            self.aggregate.retire(slot.source)
        slot.last_exit = slot.process.exitcode if slot.process is not None else None
        raw = slot.abandoned.value if slot.abandoned is not None else b""
        return [i for i in raw.decode(errors="replace").split(",") if i]

    # -- stopping ---------------------------------------------------------------------------------------------
    def signal_all(self) -> None:
        """SIGTERM to every live process: a first stop drains, a later one (after the settling window) ends
        the process at once."""
        with self.lock:
            processes = [s.process for s in self.slots if s.process is not None]
        for process in processes:
            terminate(process)

    def stop_all(self, wait: float) -> Dict[str, List[str]]:
        """Stop every process gracefully, kill what outlives ``wait``; returns abandoned task ids per process."""
        with self.lock:
            self.stopping.set()
            processes = [(s, s.process) for s in self.slots if s.process is not None]
        for _, process in processes:
            terminate(process)
        deadline = time.monotonic() + wait
        for _, process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        abandoned: Dict[str, List[str]] = {}
        for slot, process in processes:
            killed = process.is_alive()
            if killed:
                logger.error("worker process %s did not stop within %.0f s; killing it", process.pid, wait)
                process.kill()
                process.join(5)
            lost = self._reap(slot)
            if process.exitcode == EXIT_ABANDONED or lost or killed:
                unnamed = "unknown (killed)" if killed else "unknown (a result was being sent)"
                abandoned[f"{process.name} (pid {process.pid})"] = lost or [unnamed]
        self.host_logging.close()
        return abandoned


def terminate(process: SpawnProcess) -> None:
    try:
        process.terminate()
    except (OSError, ValueError):
        pass  # already gone


def describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == EXIT_ABANDONED:
        return f"exit code {code} (work abandoned)"
    return f"exit code {code}"
