"""WorkerHost: one spawned process per worker, supervised, stopped gracefully on SIGINT/SIGTERM.

    with WorkerHost(workers, configuration) as worker_host:
        worker_host.start_processes()
    # leaving the block serves tasks until SIGINT/SIGTERM, then drains and returns

Settings are resolved (and bad values rejected) when the host is built, in the parent process, so a typo in
``worker.ini`` fails fast with a clear message instead of crashing inside a child. The parts live in their own
modules: ``spawn`` (starting processes), ``supervisor`` (restarts, stopping), ``signals``, ``health`` and
``endpoint`` (probes), ``logs``, ``metrics``, ``hooks`` and ``program`` (registry import, exit hook).
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Type, Union

from ..configuration import Configuration
from ..worker.errors import WorkerConfigurationError
from ..worker.settings import WorkerSettings, find_ini, resolve_settings, unknown_env_settings
from ..worker.worker_interface import WorkerAbc
from . import health, logs, signals
from . import metrics as metrics_module
from .endpoint import DEFAULT_HTTP_HOST, HTTP_HOST_ENV, HTTP_PORT_ENV, Endpoint, parse_port
from .hooks import check_hook
from .process import EXIT_ABANDONED, ProcessSpec
from .program import ExitHook, registry_workers
from .spawn import in_spawned_bootstrap
from .supervisor import (  # noqa: F401 - the constants are documented here too
    HEALTHY_AFTER_S,
    RESTART_BACKOFF_MAX_S,
    RESTART_BACKOFF_MIN_S,
    Slot,
    Supervisor,
)

logger = logging.getLogger("swift_conductor.automation")

__all__ = ["EXIT_ABANDONED", "WorkerHost"]


class WorkerHost:
    """Runs workers in spawned processes (its own spawn context; the global start method is left alone).

    ``log_level`` (default ``$CONDUCTOR_LOG_LEVEL``, else INFO; ``None`` leaves logging alone) is the level of
    the ``swift_conductor`` loggers, here and in the worker processes; ``log_format`` is ``"text"`` or
    ``"json"`` (default ``$CONDUCTOR_LOG_FORMAT``). ``on_startup`` / ``on_shutdown`` run in each worker process,
    before its first poll and after its drain. ``http_port`` (default ``$CONDUCTOR_WORKER_HTTP_PORT``; off when
    unset) serves ``/healthz``, ``/readyz`` and ``/metrics`` on ``http_host`` (default 127.0.0.1). ``metrics``
    defaults to on when the endpoint is on and ``prometheus-client`` is installed.
    """

    def __init__(
        self,
        workers: Iterable[WorkerAbc],
        configuration: Optional[Configuration] = None,
        *,
        config_file: Union[str, Path, None] = None,
        grace_period: float = 30.0,
        log_level: Union[int, str, None] = logs.DEFAULT,
        log_format: Optional[str] = None,
        environ: Optional[Dict[str, str]] = None,
        on_startup: Optional[Callable[[], Any]] = None,
        on_shutdown: Optional[Callable[[], Any]] = None,
        http_port: Optional[int] = None,
        http_host: Optional[str] = None,
        metrics: Optional[bool] = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.configuration = configuration or Configuration()
        if isinstance(grace_period, bool) or not isinstance(grace_period, (int, float)) or grace_period < 0:
            raise WorkerConfigurationError(f"WorkerHost: grace_period must be seconds >= 0, got {grace_period!r}")
        self.grace_period = float(grace_period)
        try:
            self.log_level = logs.resolve_level(log_level, env)
            self.log_format = logs.resolve_format(log_format, env)
            port = parse_port(http_port, "WorkerHost: http_port")
            if port is None:
                port = parse_port(env.get(HTTP_PORT_ENV), f"environment variable {HTTP_PORT_ENV}")
        except ValueError as exc:
            raise WorkerConfigurationError(str(exc)) from None
        self.http_port = port
        self.http_host = http_host or env.get(HTTP_HOST_ENV) or DEFAULT_HTTP_HOST
        self.on_startup = check_hook("on_startup", on_startup)
        self.on_shutdown = check_hook("on_shutdown", on_shutdown)
        if metrics and not _metrics_available():
            raise WorkerConfigurationError(
                "WorkerHost: metrics=True needs prometheus-client: pip install 'swift-conductor-client[metrics]'"
            )
        self.metrics_enabled = bool(metrics) if metrics is not None else (port is not None and _metrics_available())
        self._logging = logs.HostLogging(self.log_level, self.log_format, debug=self.configuration.debug)
        self._logging.setup()
        ini = find_ini(config_file)
        for name in unknown_env_settings(env):
            logger.warning("environment variable %s names no worker setting; is it misspelled?", name)
        self._slots: List[Slot] = []
        for worker in workers:
            if not isinstance(worker, WorkerAbc):
                raise TypeError(f"WorkerHost: {worker!r} is not a WorkerAbc")
            settings = [resolve_settings(worker, name, ini, environ) for name in worker.polled_task_names()]
            worker.check()  # e.g. a type hint naming nothing: fail here, not in every task of a child
            _check_picklable(worker)
            self._slots.append(Slot(worker, settings))
        if not self._slots:
            raise WorkerConfigurationError("WorkerHost: no workers to run")
        self._aggregate = metrics_module.Aggregate() if self.metrics_enabled else None
        self._exposition: Optional[metrics_module.Exposition] = None
        self._supervisor = Supervisor(self._slots, self._spec, self._logging, self._aggregate)
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._exit_hook = ExitHook(self._stop_at_exit)
        self._endpoint: Optional[Endpoint] = None
        self.abandoned: List[str] = []  # task ids abandoned by the last stop

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
        return cls(registry_workers(modules, workers), configuration, **kwargs)

    @property
    def workers(self) -> List[WorkerAbc]:
        return [slot.worker for slot in self._slots]

    @property
    def settings(self) -> Dict[str, WorkerSettings]:
        """The resolved settings per task name (what each process will use)."""
        return {s.task_name: s for slot in self._slots for s in slot.settings}

    @property
    def pids(self) -> List[int]:
        """The process ids of the worker processes running now."""
        return [s.process.pid for s in self._slots if s.process is not None and s.process.pid and s.process.is_alive()]

    @property
    def http_address(self) -> Optional[Tuple[str, int]]:
        """Where the probe endpoint listens (its real port when ``http_port=0``), or None."""
        return self._endpoint.address if self._endpoint is not None else None

    # -- lifecycle --------------------------------------------------------------------------------------------
    def start_processes(self) -> None:
        """Start one process per worker, a supervisor thread that restarts any that die, and the endpoint."""
        if in_spawned_bootstrap():
            return
        with self._lock:
            if self._supervisor.started:
                return
            if self.http_port is not None:
                try:
                    self._endpoint = Endpoint(self.http_host, self.http_port, self.health, self._metrics_page())
                except OSError as exc:
                    raise WorkerConfigurationError(
                        f"WorkerHost: cannot serve probes on {self.http_host}:{self.http_port}: {exc}"
                    ) from None
            self._supervisor.start_all()
            if self._endpoint is not None:
                self._endpoint.start()
            # If the program ends without joining or stopping (an exception, Ctrl-C outside join_processes),
            # stop the workers gracefully rather than leave multiprocessing waiting on them forever.
            self._exit_hook.arm()

    def join_processes(self) -> List[str]:
        """Serve until SIGINT/SIGTERM (or :meth:`stop_processes` from another thread), then stop gracefully.
        Returns the ids of the tasks the stop abandoned (none when every task finished and was reported).

        Signal handlers are installed only while joining, and only from the main thread. Copies of a stop
        signal within ``signals.SETTLE_WINDOW_S`` are one stop; a stop signal after that stops the workers
        at once.
        """
        if not self._supervisor.started:
            return []

        def on_stop(signum: int, which: int) -> None:
            if which == signals.FIRST and not self._supervisor.stopping.is_set():
                logger.info(
                    "%s: stopping workers (grace period %.0f s)", signals.signal_name(signum), self.grace_period
                )
                threading.Thread(target=self.stop_processes, name="worker-host-stop", daemon=True).start()
            else:
                logger.warning("second stop signal: stopping workers at once, abandoning tasks in flight")
                self._supervisor.signal_all()

        previous = signals.install(on_stop, signals.StopSignals())
        try:
            while not self._supervisor.stopping.is_set():
                self._supervisor.stopping.wait(0.5)
            while not self._stopped.wait(0.5):
                pass
        finally:
            signals.restore(previous)
        return list(self.abandoned)

    def stop_processes(self, timeout: Optional[float] = None) -> List[str]:
        """Ask every process to stop (SIGTERM: finish and report in-flight tasks), wait up to ``timeout``
        seconds (default: the grace period plus 5 s), then kill what is left. Returns the abandoned task ids,
        also logged at ERROR."""
        wait = self.grace_period + 5.0 if timeout is None else timeout
        with self._lock:
            first = not self._supervisor.stopping.is_set()
            if first:
                self._supervisor.stopping.set()
        if not first:
            self._stopped.wait(wait + 10.0)
            return list(self.abandoned)
        try:
            abandoned = self._supervisor.stop_all(wait)
            for process, ids in abandoned.items():
                logger.error("work abandoned by worker process %s: task(s) %s", process, ", ".join(ids))
                self.abandoned.extend(ids)
        finally:  # whatever happens, a joining thread must not wait forever
            if self._endpoint is not None:
                self._endpoint.close()
            self._exit_hook.cancel()
            self._stopped.set()
        return list(self.abandoned)

    def _stop_at_exit(self) -> None:
        if not self._stopped.is_set():
            self.stop_processes()

    def is_alive(self) -> bool:
        """True while every worker has a live process."""
        with self._supervisor.lock:
            return all(s.process is not None and s.process.is_alive() for s in self._slots)

    def health(self, max_silence: float = health.READY_SILENCE_S) -> Dict[str, Any]:
        """For probes: per worker, whether its process lives, how often it was restarted and how long ago its
        loop last turned and reached the server. ``healthy`` (readiness) is true when every process lives and
        has reached the server (or seen itself paused) within ``max_silence`` seconds; ``live`` when every
        process lives and its loop turns, whether or not the server answers."""
        with self._supervisor.lock:
            return health.report(self._slots, max_silence)

    def metrics_text(self) -> bytes:
        """The Prometheus text page (metrics on only)."""
        page = self._metrics_page()
        if page is None:
            raise RuntimeError("metrics are off for this WorkerHost (metrics=True, or the extra and http_port)")
        return page()[0]

    def __enter__(self) -> WorkerHost:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc_type is not None:
            self.stop_processes()
            return
        abandoned = self.join_processes()  # serve until a signal
        if abandoned:
            # The program's exit status must say that work was abandoned (the ERROR lines name the tasks).
            raise SystemExit(EXIT_ABANDONED)

    # -- internals --------------------------------------------------------------------------------------------
    def _spec(self, slot: Slot) -> ProcessSpec:
        return ProcessSpec(
            worker=slot.worker,
            settings=slot.settings,
            configuration=self.configuration,
            grace_period=self.grace_period,
            source=slot.source,
            logging=slot.child_logging,
            metrics=self.metrics_enabled,
            reached=slot.reached,
            beat=slot.beat,
            abandoned=slot.abandoned,
            on_startup=self.on_startup,
            on_shutdown=self.on_shutdown,
        )

    def _metrics_page(self) -> Optional[Callable[[], Tuple[bytes, str]]]:
        if self._aggregate is None:
            return None
        if self._exposition is None:
            self._exposition = metrics_module.Exposition(self._aggregate)
        return self._exposition.render


def _metrics_available() -> bool:
    return metrics_module.available()


def _check_picklable(worker: WorkerAbc) -> None:
    try:
        pickle.dumps(worker)
    except Exception as exc:
        raise WorkerConfigurationError(f"worker {worker!r} cannot be sent to a worker process: {exc}") from exc
