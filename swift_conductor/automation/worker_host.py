"""WorkerHost: one spawned process per worker, supervised, stopped gracefully on SIGINT/SIGTERM.

    with WorkerHost(workers, configuration) as worker_host:
        worker_host.start_processes()
    # leaving the block serves tasks until SIGINT/SIGTERM, then drains and returns

Settings are resolved (and bad values rejected) when the host is built, in the parent process, so a typo in
``worker.ini`` fails fast with a clear message instead of crashing inside a child.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Dict, Iterable, List, Optional, Sequence, Type, Union

from ..configuration import Configuration
from ..worker.errors import WorkerConfigurationError
from ..worker.registry import registered_workers
from ..worker.settings import WorkerSettings, find_ini, resolve_settings, unknown_env_settings
from ..worker.worker_interface import WorkerAbc
from .process import EXIT_ABANDONED, run_worker_process

logger = logging.getLogger("swift_conductor.automation")

RESTART_BACKOFF_MIN_S = 1.0
RESTART_BACKOFF_MAX_S = 60.0
HEALTHY_AFTER_S = 60.0  # a process that ran this long resets its restart backoff


_launch_lock = threading.Lock()


class _WorkerProcess(SpawnProcess):
    """A spawned process whose child does not inherit a fixed global start method.

    multiprocessing passes the parent's start method to a spawned child, which sets it before importing the
    parent's main module again. A main module that calls ``set_start_method('spawn')`` at top level, as the seed
    README does, would then raise "context has already been set" in every child. Leaving the start method out of
    the child's preparation data keeps that documented program working; WorkerHost never relies on it.
    """

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        from multiprocessing import spawn

        if sys.platform == "win32":
            from multiprocessing.popen_spawn_win32 import Popen
        else:
            from multiprocessing.popen_spawn_posix import Popen

        with _launch_lock:
            original = spawn.get_preparation_data

            def preparation_data(name: str) -> Dict[str, Any]:
                data: Dict[str, Any] = original(name)
                data.pop("start_method", None)
                return data

            spawn.get_preparation_data = preparation_data
            try:
                return Popen(process_obj)
            finally:
                spawn.get_preparation_data = original


def _in_spawned_bootstrap() -> bool:
    """True while a spawned child re-imports the parent's main module (before it runs its worker).

    A main script without an ``if __name__ == "__main__":`` guard builds and starts a WorkerHost again at that
    moment; the host does nothing then, so the child goes on to run the worker it was started for.
    """
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


class _Slot:
    """One worker and the process currently serving it."""

    def __init__(self, worker: WorkerAbc, settings: List[WorkerSettings]) -> None:
        self.worker = worker
        self.settings = settings
        self.process: Optional[SpawnProcess] = None
        self.started_at = 0.0
        self.restarts = 0
        self.next_start = 0.0
        self.backoff = RESTART_BACKOFF_MIN_S
        self.heartbeat: Any = None  # shared double: when the process last reached the server (epoch s)


class WorkerHost:
    """Runs workers in spawned processes (its own spawn context; the global start method is left alone)."""

    def __init__(
        self,
        workers: Iterable[WorkerAbc],
        configuration: Optional[Configuration] = None,
        *,
        config_file: Union[str, Path, None] = None,
        grace_period: float = 30.0,
        log_level: Optional[int] = logging.INFO,
        environ: Optional[Dict[str, str]] = None,
    ) -> None:
        self.configuration = configuration or Configuration()
        if not isinstance(grace_period, (int, float)) or grace_period < 0:
            raise WorkerConfigurationError(f"WorkerHost: grace_period must be seconds >= 0, got {grace_period!r}")
        self.grace_period = float(grace_period)
        self.log_level = log_level
        ini = find_ini(config_file)
        for name in unknown_env_settings(os.environ if environ is None else environ):
            logger.warning("environment variable %s names no worker setting; is it misspelled?", name)
        self._slots: List[_Slot] = []
        for worker in workers:
            if not isinstance(worker, WorkerAbc):
                raise TypeError(f"WorkerHost: {worker!r} is not a WorkerAbc")
            settings = [resolve_settings(worker, name, ini, environ) for name in worker.polled_task_names()]
            worker.check()  # e.g. a type hint naming nothing: fail here, not in every task of a child
            _check_picklable(worker)
            self._slots.append(_Slot(worker, settings))
        if not self._slots:
            raise WorkerConfigurationError("WorkerHost: no workers to run")
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._monitor: Optional[threading.Thread] = None

    @classmethod
    def from_registry(
        cls,
        configuration: Optional[Configuration] = None,
        *,
        workers: Sequence[WorkerAbc] = (),
        modules: Sequence[str] = (),
        **kwargs: Any,
    ) -> WorkerHost:
        """A host for every ``@worker_task`` function (after importing ``modules``) plus ``workers``."""
        for module in modules:
            importlib.import_module(module)
        return cls([*registered_workers(), *workers], configuration, **kwargs)

    @property
    def workers(self) -> List[WorkerAbc]:
        return [slot.worker for slot in self._slots]

    @property
    def settings(self) -> Dict[str, WorkerSettings]:
        """The resolved settings per task name (what each process will use)."""
        return {s.task_name: s for slot in self._slots for s in slot.settings}

    # -- lifecycle --------------------------------------------------------------------------------------------
    def start_processes(self) -> None:
        """Start one process per worker and a supervisor thread that restarts any that die."""
        if _in_spawned_bootstrap():
            return
        with self._lock:
            if self._monitor is not None:
                return
            for slot in self._slots:
                self._start(slot)
            self._monitor = threading.Thread(target=self._supervise, name="worker-host-monitor", daemon=True)
            self._monitor.start()
            # If the program ends without joining or stopping (an exception, Ctrl-C outside join_processes),
            # stop the workers gracefully rather than leave multiprocessing waiting on them forever.
            atexit.register(self._stop_at_exit)

    def join_processes(self) -> None:
        """Serve until SIGINT/SIGTERM (or :meth:`stop_processes` from another thread), then stop gracefully.

        Signal handlers are installed only while joining, and only from the main thread; a second signal
        stops the workers at once.
        """
        if self._monitor is None:
            return
        restore = self._install_signal_handlers()
        try:
            while not self._stopping.is_set():
                self._stopping.wait(0.5)
            self._stopped.wait()
        finally:
            for signum, handler in restore.items():
                signal.signal(signum, handler)

    def stop_processes(self, timeout: Optional[float] = None) -> None:
        """Ask every process to stop (SIGTERM: finish and report in-flight tasks), wait up to ``timeout``
        seconds (default: the grace period plus 5 s), then kill what is left."""
        wait = self.grace_period + 5.0 if timeout is None else timeout
        with self._lock:
            first = not self._stopping.is_set()
            self._stopping.set()
            processes = [s.process for s in self._slots if s.process is not None]
        if not first:
            self._stopped.wait(wait)
            return
        for process in processes:
            _terminate(process)
        deadline = time.monotonic() + wait
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                logger.error("worker process %s did not stop within %.0f s; killing it", process.pid, wait)
                process.kill()
                process.join(5)
            elif process.exitcode == EXIT_ABANDONED:
                logger.error("worker process %s stopped with undelivered results (see its log)", process.pid)
        atexit.unregister(self._stop_at_exit)
        self._stopped.set()

    def _stop_at_exit(self) -> None:
        if not self._stopped.is_set():
            logger.info("program exiting: stopping workers")
            self.stop_processes()

    def is_alive(self) -> bool:
        """True while every worker has a live process."""
        with self._lock:
            return all(s.process is not None and s.process.is_alive() for s in self._slots)

    def health(self, max_silence: float = 30.0) -> Dict[str, Any]:
        """For health probes: per worker, whether its process lives, how often it was restarted and how long
        ago its loop last reached the server. ``healthy`` is true when every process lives and has reached the
        server (or seen itself paused) within ``max_silence`` seconds; while the server is unreachable the
        workers back off (up to 30 s) and their silence grows."""
        now = time.time()
        workers = []
        with self._lock:
            for slot in self._slots:
                alive = slot.process is not None and slot.process.is_alive()
                last = slot.heartbeat.value if slot.heartbeat is not None else 0.0
                silence = round(now - last, 3) if last else None
                workers.append(
                    {
                        "tasks": [s.task_name for s in slot.settings],
                        "pid": slot.process.pid if slot.process is not None else None,
                        "alive": alive,
                        "restarts": slot.restarts,
                        "seconds_since_server": silence,
                        "healthy": alive and silence is not None and silence <= max_silence,
                    }
                )
        return {"healthy": bool(workers) and all(w["healthy"] for w in workers), "workers": workers}

    def __enter__(self) -> WorkerHost:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is None:
            self.join_processes()  # the seed's usage: serve until a signal
        else:
            self.stop_processes()

    # -- internals --------------------------------------------------------------------------------------------
    def _start(self, slot: _Slot) -> None:
        if slot.heartbeat is None:
            slot.heartbeat = multiprocessing.get_context("spawn").Value("d", 0.0, lock=False)
        slot.heartbeat.value = 0.0
        process = _WorkerProcess(
            target=run_worker_process,
            args=(slot.worker, slot.settings, self.configuration, self.grace_period, self.log_level, slot.heartbeat),
            name=f"worker-{'-'.join(s.task_name for s in slot.settings)}",
            daemon=False,
        )
        process.start()
        slot.process = process
        slot.started_at = time.monotonic()
        logger.debug("started %s as pid %s", process.name, process.pid)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            now = time.monotonic()
            with self._lock:
                if self._stopping.is_set():
                    return
                for slot in self._slots:
                    process = slot.process
                    if process is None or process.is_alive():
                        continue
                    if slot.next_start == 0.0:
                        ran = now - slot.started_at
                        if ran > HEALTHY_AFTER_S:
                            slot.backoff = RESTART_BACKOFF_MIN_S
                        logger.error(
                            "worker process %s (pid %s) died after %.1f s: %s; restarting in %.0f s",
                            process.name,
                            process.pid,
                            ran,
                            _describe_exit(process.exitcode),
                            slot.backoff,
                        )
                        slot.next_start = now + slot.backoff
                        slot.backoff = min(RESTART_BACKOFF_MAX_S, slot.backoff * 2)
                    elif now >= slot.next_start:
                        slot.next_start = 0.0
                        slot.restarts += 1
                        self._start(slot)

    def _install_signal_handlers(self) -> Dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: Dict[int, Any] = {}

        signalled = []

        def on_signal(signum: int, frame: Optional[FrameType]) -> None:
            signalled.append(signum)
            if len(signalled) > 1 or self._stopping.is_set():
                logger.warning("second stop signal: stopping workers at once")
                with self._lock:
                    for slot in self._slots:
                        if slot.process is not None and slot.process.is_alive():
                            _terminate(slot.process)
                return
            logger.info("%s: stopping workers (grace period %.0f s)", signal.Signals(signum).name, self.grace_period)
            threading.Thread(target=self.stop_processes, name="worker-host-stop", daemon=True).start()

        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
        return previous


def _terminate(process: SpawnProcess) -> None:
    try:
        process.terminate()
    except (OSError, ValueError):
        pass  # already gone


def _describe_exit(code: Optional[int]) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _check_picklable(worker: WorkerAbc) -> None:
    try:
        pickle.dumps(worker)
    except Exception as exc:
        raise WorkerConfigurationError(f"worker {worker!r} cannot be sent to a worker process: {exc}") from exc
