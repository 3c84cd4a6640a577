"""The loop inside one worker process: poll for free slots -> execute -> report -> drain on stop.

- It asks the server only for as many tasks as it has free execution slots (``thread_count``), with a
  server-side long poll (``poll_timeout``); the polling interval is slept only after a poll that found nothing,
  so a busy queue drains back to back.
- Connection errors back off exponentially with jitter, forever; an unexpected error in the loop is logged and
  the loop goes on after a backoff (it is never left dead while the process looks alive).
- ``paused()`` is asked before every poll.
- ``stop()`` ends polling; ``run()`` then waits for in-flight tasks and pending results up to the grace period.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence

from ..clients import TaskClient
from ..configuration import Configuration
from ..http.errors import ConductorError
from ..http.models import Task
from ..worker.execution import execute_task
from ..worker.settings import WorkerSettings
from ..worker.worker_interface import WorkerAbc
from . import metrics as _metrics
from .lease import LeaseKeeper
from .result_sender import ResultSender, backoff_delay
from .runner_log import PollLog, log_start, server_url

logger = logging.getLogger("swift_conductor.automation")

POLL_BACKOFF_BASE_S = 0.25
POLL_BACKOFF_MAX_S = 30.0


class TaskRunner:
    """Runs one worker: one polling thread (the caller's) and ``thread_count`` execution threads."""

    def __init__(
        self,
        worker: WorkerAbc,
        settings: Sequence[WorkerSettings],
        configuration: Optional[Configuration] = None,
        *,
        client: Optional[TaskClient] = None,
        heartbeat: Optional[Callable[[], None]] = None,
        loop_beat: Optional[Callable[[], None]] = None,
    ) -> None:
        if not settings:
            raise ValueError("TaskRunner needs the settings of at least one task name")
        self.worker = worker
        self.settings: List[WorkerSettings] = list(settings)
        self.client = client or TaskClient(configuration)
        self.heartbeat = heartbeat or _nothing  # called after every cycle that reached the server (or paused)
        self.loop_beat = loop_beat or _nothing  # called on every turn of the loop, reaching the server or not
        self.server = server_url(self.client, configuration)
        self._poll_log = PollLog(self.server)
        self.thread_count = self.settings[0].thread_count
        self.sender = ResultSender(self.client, reporters=min(2, self.thread_count))
        self.max_backlog = max(8, 2 * self.thread_count)  # stop taking tasks while results cannot be delivered
        self._free = self.thread_count
        self._slots = threading.Condition()
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(self.thread_count, thread_name_prefix="task")
        self._leases = LeaseKeeper(self.client, worker) if self.settings[0].extend_lease else None
        self.completed = 0

    # -- control --------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop polling; in-flight tasks finish and are reported (see :meth:`run`)."""
        self._stop.set()
        with self._slots:
            self._slots.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def in_flight(self) -> int:
        with self._slots:
            return self.thread_count - self._free

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self, grace_period: float = 30.0) -> int:
        """Poll and execute until :meth:`stop`; then drain. Returns how many results were not delivered."""
        log_start(self.worker, self.settings, self.server, self.thread_count)
        failures = 0
        empty_in_a_row = 0
        turn = 0
        while not self._stop.is_set():
            self.loop_beat()
            settings = self.settings[turn % len(self.settings)]
            turn += 1
            try:
                if self._paused(settings):
                    self._idle(max(settings.polling_interval_seconds, 0.1))
                    continue
                free = self._wait_for_free_slot()
                if free == 0:
                    continue
                tasks = self.client.batch_poll(
                    settings.task_name,
                    count=free,
                    timeout_ms=settings.poll_timeout,
                    worker_id=self.worker.get_identity(),
                    domain=settings.domain,
                )
                failures = 0
                self.heartbeat()
                self._poll_log.succeeded()
                _metrics.recorder.polled(settings.task_name, len(tasks))
            except ConductorError as exc:
                failures += 1
                delay = backoff_delay(failures - 1, POLL_BACKOFF_BASE_S, POLL_BACKOFF_MAX_S)
                _metrics.recorder.poll_failed(settings.task_name)
                self._poll_log.failed(settings.task_name, exc, delay)
                self._stop.wait(delay)
                continue
            except Exception:
                failures += 1
                delay = backoff_delay(failures - 1, POLL_BACKOFF_BASE_S, POLL_BACKOFF_MAX_S)
                _metrics.recorder.poll_failed(settings.task_name)
                logger.exception(
                    "worker loop for %s hit an unexpected error; restarting it in %.1f s",
                    settings.task_name,
                    delay,
                )
                self._stop.wait(delay)
                continue
            if tasks:
                empty_in_a_row = 0
                for task in tasks:
                    self._submit(task)
            else:
                empty_in_a_row += 1
                if empty_in_a_row >= len(self.settings):  # every name came back empty: wait a while
                    empty_in_a_row = 0
                    self._idle(settings.polling_interval_seconds)
        return self._drain(grace_period)

    def _idle(self, seconds: float) -> None:
        """Wait (until stopped), beating the heartbeat at least every second: the loop is alive, just idle."""
        deadline = time.monotonic() + seconds
        while True:
            self.heartbeat()
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.wait(min(left, 1.0)):
                return

    def _paused(self, settings: WorkerSettings) -> bool:
        if settings.paused:
            return True
        try:
            return bool(self.worker.paused())
        except Exception:
            logger.exception("%r.paused() raised; treating the worker as not paused", self.worker)
            return False

    def _wait_for_free_slot(self) -> int:
        # While results wait for the server, take no more tasks (checking for a stop twice a second).
        while not self.sender.wait_for_room(self.max_backlog, timeout=0.5):
            self.loop_beat()  # alive, waiting for the server to take results: not stuck
            if self._stop.is_set():
                return 0
        with self._slots:
            while self._free == 0 and not self._stop.is_set():
                self.heartbeat()  # every thread busy: the loop is alive, waiting for a slot
                self._slots.wait(1.0)
            return 0 if self._stop.is_set() else self._free

    def _submit(self, task: Task) -> None:
        with self._slots:
            self._free -= 1
        self._executor.submit(self._run_task, task)

    def _run_task(self, task: Task) -> None:
        leased = self._leases.track(task) if self._leases is not None else False
        recorder = _metrics.recorder
        recorder.task_started(task)
        began = time.perf_counter()
        try:
            result = execute_task(self.worker, task)
            recorder.task_finished(task, result.status, time.perf_counter() - began)
            if leased and self._leases is not None:
                self._leases.forget(task)
                leased = False
            self.sender.submit(result)
            with self._slots:
                self.completed += 1
        except BaseException:  # never lose a slot, even on a bug of ours
            logger.exception("internal error while running task %s", task.task_id)
        finally:
            if leased and self._leases is not None:
                self._leases.forget(task)
            with self._slots:
                self._free += 1
                self._slots.notify()

    def _drain(self, grace_period: float) -> int:
        deadline = time.monotonic() + grace_period
        logger.info("polling stopped; waiting up to %.0f s for %d task(s) in flight", grace_period, self.in_flight)
        with self._slots:
            while self._free < self.thread_count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._slots.wait(left)
            unfinished = self.thread_count - self._free
        if unfinished:
            logger.error(
                "grace period over with %d task(s) still running; they will time out on the server",
                unfinished,
            )
        self._executor.shutdown(wait=False)
        if self._leases is not None:
            self._leases.close()
        return self.sender.flush(deadline) + unfinished


def _nothing() -> None:
    return None
