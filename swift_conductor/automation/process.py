"""The entry point of a spawned worker process: signals, logging, then the TaskRunner.

SIGTERM stops polling and drains (in-flight tasks finish and are reported within the grace period), then the
process exits 0; a second SIGTERM exits at once. SIGINT is ignored here: a terminal's Ctrl-C reaches the
whole process group, and the host turns it into one SIGTERM per child so a child does not see two signals.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, List, Optional

from ..configuration import Configuration
from ..worker.settings import WorkerSettings
from ..worker.worker_interface import WorkerAbc
from .task_runner import TaskRunner

logger = logging.getLogger("swift_conductor.automation")

EXIT_ABANDONED = 3  # results could not be delivered before the grace period ended


def run_worker_process(
    worker: WorkerAbc,
    settings: List[WorkerSettings],
    configuration: Configuration,
    grace_period: float,
    log_level: Optional[int],
    heartbeat: Any = None,
) -> None:
    configuration.apply_logging(log_level)
    beat = None
    if heartbeat is not None:

        def beat() -> None:
            heartbeat.value = time.time()

    runner = TaskRunner(worker, settings, configuration, heartbeat=beat)
    signals = {"count": 0}

    def on_term(signum: int, frame: Optional[FrameType]) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            logger.warning("second stop signal: exiting now with %d task(s) in flight", runner.in_flight)
            os._exit(1)
        logger.info("stop signal: no more polling, draining %d task(s) in flight", runner.in_flight)
        runner.stop()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(runner)
    lost = runner.run(grace_period)
    logger.info("worker %s stopped after %d task(s)", worker, runner.completed)
    if runner.in_flight:
        # Tasks still running after the grace period: their (non-daemon) threads would hold the interpreter
        # open until they end, so leave now; the server times those tasks out and retries them.
        logging.shutdown()
        os._exit(EXIT_ABANDONED)
    logging.shutdown()
    sys.exit(EXIT_ABANDONED if lost else 0)


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
