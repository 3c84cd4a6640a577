"""The loop inside one worker process: poll for free slots -> execute -> report -> drain on stop.

- It asks the server only for as many tasks as it has free execution slots (``thread_count``). A slot is
  *claimed* while a task may still arrive for it (a poll or an update-v2 in flight), so the process never holds
  more tasks than it has threads.
- **Where the server has update-v2** (Conductor OSS 3.2x, the embedded server), the execution thread that
  finished a task sends its result by update-v2 and runs the task that comes back: a busy worker sends one
  request per task and no polls, and its tasks make no trip between threads. The slot stays claimed during that
  call, as nothing else may arrive for it; a call that fails leaves the result to the reporter threads (sent the
  v1 way like any other result) and the slot to the polls. The server's long poll wakes when a task arrives, but
  only for ``count=1``; so an idle worker long-polls for one task (``poll_timeout``, 1000 ms by default: at most
  about one request per second per task type, pickup within about 0.1 s on OSS), and a worker with several free
  slots asks for them with a poll that does not wait.
- Other results (v1 servers, non-final statuses, while stopping) are handed to reporter threads
  (:mod:`.result_sender`): the execution thread is free at once, and a slow server never holds a slot.
- **Elsewhere** (Netflix 3.15, Swift 3.16: a waiting poll never sees a task that arrives meanwhile) it polls for
  every free slot with a short server-side wait (``poll_timeout``, 100 ms by default), as those servers need.
- The polling interval is slept only after a poll that waited and found nothing, so a busy queue drains back to
  back.
- Connection errors back off exponentially with jitter, forever (:mod:`swift_conductor.retry`); an unexpected
  error in the loop is logged and the loop goes on after a backoff (it is never left dead while the process
  looks alive).
- ``paused()`` is asked before every poll.
- ``stop()`` ends polling; ``run()`` then waits for in-flight tasks, for tasks still arriving on a poll or an
  update-v2 already sent (they are run and reported too), and for pending results, up to the grace period.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..clients import TaskClient
from ..configuration import Configuration
from ..errors import ConductorError
from ..http.models import Task, TaskResult
from ..http.models.task_result_status import TaskResultStatus
from ..retry import POLL_BACKOFF
from ..worker.execution import execute_task
from ..worker.settings import WorkerSettings
from ..worker.worker_interface import WorkerAbc
from . import metrics as _metrics
from .lease import LeaseKeeper
from .result_sender import ResultSender
from .runner_log import PollLog, log_start, server_url
from .task_threads import TaskThreads

logger = logging.getLogger("swift_conductor.automation")

#: Long-poll wait when the server wakes waiting polls for new tasks (update-v2 servers), and elsewhere.
LONG_POLL_MS = 1000
SHORT_POLL_MS = 100
_TERMINAL = (TaskResultStatus.COMPLETED, TaskResultStatus.FAILED, TaskResultStatus.FAILED_WITH_TERMINAL_ERROR)


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
        worker.check()  # a worker that cannot run any task fails here, at start-up
        self.worker = worker
        self.settings: List[WorkerSettings] = list(settings)
        self._by_name: Dict[str, WorkerSettings] = {s.task_name: s for s in self.settings}
        self.client = client or TaskClient(configuration)
        self.heartbeat = heartbeat or _nothing  # called after every cycle that reached the server (or paused)
        self.loop_beat = loop_beat or _nothing  # called on every turn of the loop, reaching the server or not
        self.server = server_url(self.client, configuration)
        self._poll_log = PollLog(self.server)
        self.thread_count = self.settings[0].thread_count
        self.sender = ResultSender(self.client, reporters=min(2, self.thread_count))
        self.max_backlog = max(8, 2 * self.thread_count)  # stop taking tasks while results cannot be delivered
        self._free = self.thread_count
        self._claimed = 0  # free slots a poll or an update-v2 in flight may still fill
        self._slots = threading.Condition()
        self._stop = threading.Event()
        self._shut = False  # the drain is over: nothing more is run
        self._threads: TaskThreads[Task] = TaskThreads(self.thread_count, self._run_task)
        self._lease_names = frozenset(s.task_name for s in self.settings if s.extend_lease)  # per name
        self._leases = LeaseKeeper(self.client, worker) if self._lease_names else None
        self.update_v2: Optional[bool] = None  # whether the server has update-v2 (asked when run() starts)
        self.completed = 0
        self.polls = 0
        self.received_v2 = 0  # tasks that came back with a result sent by update-v2
        self.slot_wakeups = 0  # times the loop was woken while it waited for a free slot (not per task)

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
        waited: Dict[str, bool] = {}  # per name: the last poll found nothing, so the next one may wait
        while not self._stop.is_set():
            self.loop_beat()
            settings = self.settings[turn % len(self.settings)]
            turn += 1
            try:
                if self.update_v2 is None and failures == 0:  # not while polls fail: one request per backoff
                    self._learn_server()
                if self._paused(settings):
                    self._idle(max(settings.polling_interval_seconds, 0.1))
                    continue
                available = self._wait_for_free_slot()
                if available == 0:
                    continue
                count, timeout_ms = self._poll_shape(settings, available, waited.get(settings.task_name, False))
                tasks = self._poll(settings, count, timeout_ms)
                failures = 0
                self.heartbeat()
                self._poll_log.succeeded()
                _metrics.recorder.polled(settings.task_name, len(tasks))
            except ConductorError as exc:
                failures += 1
                delay = POLL_BACKOFF.delay(failures - 1)
                _metrics.recorder.poll_failed(settings.task_name)
                self._poll_log.failed(settings.task_name, exc, delay)
                self._stop.wait(delay)
                continue
            except Exception:
                failures += 1
                delay = POLL_BACKOFF.delay(failures - 1)
                _metrics.recorder.poll_failed(settings.task_name)
                logger.exception(
                    "worker loop for %s hit an unexpected error; restarting it in %.1f s", settings.task_name, delay
                )
                self._stop.wait(delay)
                continue
            if tasks:
                empty_in_a_row = 0
                waited[settings.task_name] = False
                continue
            waited[settings.task_name] = True
            if timeout_ms == 0 and self.update_v2:
                continue  # a poll that did not wait found nothing: the next one waits, without a pause first
            empty_in_a_row += 1
            if empty_in_a_row >= len(self.settings):  # every name came back empty: wait a while
                empty_in_a_row = 0
                self._idle(settings.polling_interval_seconds)
        return self._drain(grace_period)

    def _learn_server(self) -> None:
        """Ask once whether the server has update-v2: it decides both how results go out and how to poll."""
        found = self.client.supports_update_v2()
        if found is not None:
            self.update_v2 = found
            logger.debug("server %s update-v2", "has" if found else "lacks")

    def _poll_shape(self, settings: WorkerSettings, available: int, waited_before: bool) -> Tuple[int, int]:
        """(count, server-side wait in ms) for the next poll, per the server's long-poll behaviour."""
        if not self.update_v2:
            timeout = SHORT_POLL_MS if settings.poll_timeout is None else settings.poll_timeout
            return available, timeout
        if not waited_before:
            return available, 0  # take what is ready for every free slot, without waiting
        timeout = LONG_POLL_MS if settings.poll_timeout is None else settings.poll_timeout
        return 1, max(SHORT_POLL_MS, timeout // len(self.settings)) if len(self.settings) > 1 else timeout

    def _poll(self, settings: WorkerSettings, count: int, timeout_ms: int) -> List[Task]:
        with self._slots:
            self._claimed += count
        tasks: List[Task] = []
        try:
            tasks = self.client.batch_poll(
                settings.task_name,
                count=count,
                timeout_ms=timeout_ms,
                worker_id=self.worker.get_identity(),
                domain=settings.domain,
            )
        finally:
            with self._slots:  # only this thread waits on _slots: nobody to wake
                self._claimed -= count
                self.polls += 1
                self._free -= len(tasks)
        for task in tasks:
            self._execute(task)
        return tasks

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
        """How many slots are free and not claimed: 0 only when stopping."""
        # While results wait for the server, take no more tasks (checking for a stop twice a second).
        while not self.sender.wait_for_room(self.max_backlog, timeout=0.5):
            self.loop_beat()  # alive, waiting for the server to take results: not stuck
            if self._stop.is_set():
                return 0
        with self._slots:
            while self._free - self._claimed <= 0 and not self._stop.is_set():
                self.heartbeat()  # every thread busy: the loop is alive, waiting for a slot
                if self._slots.wait(1.0):
                    self.slot_wakeups += 1
            return 0 if self._stop.is_set() else self._free - self._claimed

    # -- one task -------------------------------------------------------------------------------------------
    def _execute(self, task: Task) -> None:
        """Hand a task that holds a slot to an execution thread."""
        if not self._threads.submit(task):
            _too_late(task)

    def _run_task(self, task: Task) -> None:
        """Run a task and then, for as long as update-v2 brings one, the task that came back with its result."""
        next_task: Optional[Task] = task
        while next_task is not None:
            next_task = self._run_one(next_task)

    def _run_one(self, task: Task) -> Optional[Task]:
        """Run one task and see its result off; returns the task update-v2 brought for this slot, if any."""
        leases = self._leases
        leased = leases is not None and (task.task_def_name or task.task_type) in self._lease_names
        if leased and leases is not None:
            leased = leases.track(task)
        result: Optional[TaskResult] = None
        recorder = _metrics.recorder
        try:
            if recorder.enabled:
                recorder.task_started(task)
                began = time.perf_counter()
                result = execute_task(self.worker, task)
                recorder.task_finished(task, result.status, time.perf_counter() - began)
            else:
                result = execute_task(self.worker, task)
        except BaseException:  # never lose a slot, even on a bug of ours
            logger.exception("internal error while running task %s", task.task_id)
        if leased and leases is not None:
            leases.forget(task)
        stop = self._stop.is_set()
        claim = result is not None and self.update_v2 is True and result.status in _TERMINAL and not stop
        with self._slots:
            self._free += 1
            if claim:
                self._claimed += 1  # update-v2 brings this slot's next task: free minus claimed is unchanged
            if result is not None:
                self.completed += 1
            if not claim:  # the loop can poll for this slot, or a drain counts it
                self._slots.notify_all()
        if result is None:
            return None
        if not claim:
            self.sender.submit(result)
            return None
        # This thread sends the result itself and runs what comes back (see ResultSender.report_now): its slot
        # stays claimed meanwhile, as no other task may arrive for it.
        try:
            back = self.sender.report_now(result)
        except BaseException:  # a bug of ours: the claim is released all the same
            logger.exception("internal error while reporting task %s", task.task_id)
            back = None
        if back is None and self.client.api.facts.update_v2 is False:  # the server turned out to lack it
            self.update_v2 = False  # v1 from now on, polls included
        return self._take(back, task)

    def _take(self, task: Optional[Task], reported: Task) -> Optional[Task]:
        """Fill the claimed slot with the task update-v2 brought (returned to run), or free it for a poll."""
        accepted = task is not None and self._accepts(task, reported)
        with self._slots:
            self._claimed -= 1
            late = accepted and self._shut
            if accepted and not late:
                self._free -= 1  # the claimed slot is filled: free minus claimed is unchanged
                self.received_v2 += 1
            else:  # the loop can poll for this slot, or a drain counts it
                self._slots.notify_all()
        if task is None or not accepted:
            return None
        if late:
            _too_late(task)
            return None
        if _metrics.recorder.enabled:
            _metrics.recorder.received(task.task_def_name or task.task_type or "", 1)
        return task

    def _accepts(self, task: Task, reported: Task) -> bool:
        """A task update-v2 handed over is ours to run only if it is of a type and domain this worker polls.

        The server polls it with the reported task's own type and domain, so this holds by construction; the
        check keeps a server that does otherwise from running a task of another domain here."""
        name = task.task_def_name or task.task_type or ""
        settings = self._by_name.get(name)
        if settings is not None and (task.domain or None) == settings.domain:
            return True
        logger.error(
            "update-v2 for task %s returned task %s of %s (domain %s), which this worker does not poll; "
            "leaving it to time out on the server",
            reported.task_id,
            task.task_id,
            name,
            task.domain,
        )
        return False

    # -- stopping -------------------------------------------------------------------------------------------
    def _drain(self, grace_period: float) -> int:
        deadline = time.monotonic() + grace_period
        logger.info("polling stopped; waiting up to %.0f s for %d task(s) in flight", grace_period, self.in_flight)
        with self._slots:
            while self._free < self.thread_count or self._claimed > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._slots.wait(left)
            unfinished = self.thread_count - self._free
            self._shut = True  # from now on a task that still arrives is not run
        if unfinished:
            logger.error(
                "grace period over with %d task(s) still running; they will time out on the server",
                unfinished,
            )
        self._threads.shutdown()
        if self._leases is not None:
            self._leases.close()
        return self.sender.flush(deadline) + unfinished


def _nothing() -> None:
    return None


def _too_late(task: Task) -> None:
    logger.error("task %s arrived after the runner shut down; it will time out on the server", task.task_id)
