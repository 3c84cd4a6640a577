"""The entry point of a spawned worker process: logging, signals, the start-up hook, then the TaskRunner.

A stop signal (SIGTERM or SIGINT, from the host, the process group or sent to this process alone) stops
polling and drains: in-flight tasks finish and are reported within the grace period, the shutdown hook runs,
then the process exits 0. Copies of that stop arriving within the settling window (``signals.SETTLE_WINDOW_S``)
are ignored; a stop signal after it exits at once. Whenever work is abandoned (a second stop, a task that
outlives the grace period, a result that could not be delivered) the process writes the task ids where the host
reads them and exits with :data:`EXIT_ABANDONED`.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from ..configuration import Configuration
from ..worker import context as task_context
from ..worker.settings import WorkerSettings
from ..worker.worker_interface import WorkerAbc
from . import logs, metrics, signals
from .runner_log import worker_name
from .spawn import unblock_stop_signals
from .task_runner import TaskRunner

logger = logging.getLogger("swift_conductor.automation")

EXIT_ABANDONED = 3  # tasks or results were abandoned; their ids are in ProcessSpec.abandoned
EXIT_STARTUP_FAILED = 4  # the on_startup hook raised
ABANDONED_BYTES = 4096  # room for the abandoned task ids
SIGNAL_LATENCY_S = 0.2  # the main thread wakes this often to run signal handlers


@dataclass
class ProcessSpec:
    """Everything a worker process is started with (pickled once, when it is spawned)."""

    worker: WorkerAbc
    settings: List[WorkerSettings]
    configuration: Configuration
    grace_period: float
    source: int = 0  # the host's number for this process, for its metrics
    logging: Optional[logs.ChildLogging] = None
    metrics: bool = False
    reached: Any = None  # shared double: when the loop last reached the server (epoch s)
    beat: Any = None  # shared double: when the loop last turned, reaching the server or not
    abandoned: Any = None  # shared char array: comma-separated ids of abandoned tasks
    on_startup: Optional[Callable[[], Any]] = None
    on_shutdown: Optional[Callable[[], Any]] = None


def run_worker_process(spec: ProcessSpec) -> None:
    logs.start_child(spec.logging)
    channel = spec.logging.queue if spec.logging is not None else None
    reporter = metrics.child_recorder(spec.metrics, channel, spec.source, spec.settings[0].task_name)
    runner = TaskRunner(
        spec.worker,
        spec.settings,
        spec.configuration,
        heartbeat=_stamp(spec.reached, spec.beat),
        loop_beat=_stamp(spec.beat),
    )
    if reporter is not None:
        reporter.recorder.pending = lambda: runner.sender.backlog
    name = worker_name(spec.worker)

    def on_stop(signum: int, which: int) -> None:
        if which == signals.FIRST:
            logger.info(
                "%s: no more polling; finishing %d task(s) in flight (grace period %.0f s)",
                signals.signal_name(signum), runner.in_flight, spec.grace_period,
            )  # fmt: skip
            runner.stop()
            return
        lost = _abandoned(runner)
        logger.error(
            "second stop signal (%s): exiting now, abandoning %d task(s): %s",
            signals.signal_name(signum), len(lost), ", ".join(lost) or "none",
        )  # fmt: skip
        _leave(spec, reporter, lost, EXIT_ABANDONED if lost else 0, at_once=True)

    signals.install(on_stop, signals.StopSignals())
    unblock_stop_signals()  # blocked since the spawn: a stop that came meanwhile is handled now
    _watch_parent(runner)
    if not _run_hook(spec.on_startup, "on_startup", name):
        _leave(spec, reporter, [], EXIT_STARTUP_FAILED, at_once=False)
    lost_count = _run_off_main_thread(runner, spec.grace_period)
    _run_hook(spec.on_shutdown, "on_shutdown", name)
    logger.info("worker %s stopped after %d task(s)", name, runner.completed)
    lost = _abandoned(runner) if (lost_count or runner.in_flight) else []
    # Tasks still running after the grace period: leave at once. Their threads are daemons, but a normal exit
    # runs exit handlers (logging's flush, say) that can wait on a lock such a thread holds. The server times
    # those tasks out and retries them.
    _leave(spec, reporter, lost, EXIT_ABANDONED if lost_count or lost else 0, at_once=bool(runner.in_flight))


def _run_off_main_thread(runner: TaskRunner, grace_period: float) -> int:
    """Run the loop in a thread while the main thread wakes every :data:`SIGNAL_LATENCY_S`: a signal that the
    kernel hands to another thread runs its Python handler only when the main thread gets to run, which a
    long blocking wait (the drain waits up to the grace period) would put off."""
    outcome: List[int] = []
    loop = threading.Thread(target=lambda: outcome.append(runner.run(grace_period)), name="worker-loop")
    loop.start()
    while loop.is_alive():
        loop.join(SIGNAL_LATENCY_S)
    return outcome[0] if outcome else runner.in_flight


def _stamp(*values: Any) -> Optional[Callable[[], None]]:
    shared = [v for v in values if v is not None]
    if not shared:
        return None

    def stamp() -> None:
        now = time.time()
        for value in shared:
            value.value = now

    return stamp


def _abandoned(runner: TaskRunner) -> List[str]:
    ids = [c.task_id or "?" for c in task_context.running_tasks()]
    ids += [i for i in runner.sender.pending_task_ids() if i not in ids]
    ids += [i for i in runner.sender.lost if i not in ids]
    return ids


def _run_hook(hook: Optional[Callable[[], Any]], what: str, name: str) -> bool:
    if hook is None:
        return True
    try:
        hook()
        return True
    except BaseException:
        logger.exception(
            "%s hook %s failed in the worker process of %s%s",
            what, getattr(hook, "__qualname__", repr(hook)), name,
            "; the process exits and the host restarts it with backoff" if what == "on_startup" else "",
        )  # fmt: skip
        return False


def _leave(
    spec: ProcessSpec, reporter: Optional[metrics.Reporter], abandoned: List[str], code: int, at_once: bool
) -> None:
    if abandoned and spec.abandoned is not None:
        spec.abandoned.value = ",".join(abandoned).encode()[: ABANDONED_BYTES - 1]
    if not at_once:
        if reporter is not None:
            reporter.stop()
        sys.exit(code)  # multiprocessing flushes the log queue on the way out

    def flush() -> None:
        if reporter is not None:
            reporter.stop()
        logs.flush_child(spec.logging)

    # From a signal handler, the interrupted thread may hold a lock the flush needs: bound the wait.
    flusher = threading.Thread(target=flush, daemon=True)
    flusher.start()
    flusher.join(2.0)
    os._exit(code)


def _watch_parent(runner: TaskRunner) -> None:
    """Stop gracefully if the host process dies (kill -9, OOM): a worker must not outlive its host."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        if not runner.stopping:
            logger.error("the host process %s is gone; stopping this worker", parent.pid)
            runner.stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
